#ifndef AIRFL_CZEROMQ_SHIM_H
#define AIRFL_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
