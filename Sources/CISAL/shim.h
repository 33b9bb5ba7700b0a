#ifndef AIRFL_CISAL_SHIM_H
#define AIRFL_CISAL_SHIM_H
#include <isa-l/crc.h>
#endif
