// defines: TRIP_HD (host+device qualifier) so per-element math is shared by CPU and CUDA code.
#pragma once

#if defined(__CUDACC__)
#define TRIP_HD __host__ __device__ __forceinline__
#else
#define TRIP_HD inline
#endif
