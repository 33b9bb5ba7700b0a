#ifndef AIRFL_CZLIB_SHIM_H
#define AIRFL_CZLIB_SHIM_H
#include <zlib.h>
#endif
