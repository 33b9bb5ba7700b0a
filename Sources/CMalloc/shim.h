#ifndef AIRFL_CMALLOC_SHIM_H
#define AIRFL_CMALLOC_SHIM_H
// glibc's allocator tuning (mallopt), which Swift's Glibc module does not include.
#if defined(__linux__)
#include <malloc.h>
#endif
#endif
