// Swift cannot import C `_Complex` types, so LAPACKE's complex types are declared
// as plain two-member structs (the same memory layout) before lapacke.h is read.
#ifndef AIRFL_COPENBLAS_SHIM_H
#define AIRFL_COPENBLAS_SHIM_H

typedef struct { float real; float imag; } airfl_complex_float;
typedef struct { double real; double imag; } airfl_complex_double;
#define lapack_complex_float airfl_complex_float
#define lapack_complex_double airfl_complex_double

#include <cblas.h>
#include <lapacke.h>

#endif
