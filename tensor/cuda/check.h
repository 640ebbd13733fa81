// defines: TRIP_CUDA_CHECK(expr) and TRIP_CUBLAS_CHECK(expr), which throw trip::Error naming the
// failed call, the error's name and description, and the file:line of the check.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "tensor/error.h"

namespace trip::gpu {

[[noreturn]] inline void throw_cuda_error(const char* expr, cudaError_t err, const char* file,
                                          int line) {
  // Clears the thread's last-error slot, so a later cudaGetLastError() after a kernel launch
  // does not report this (non-sticky) error a second time.
  (void)cudaGetLastError();
  throw Error(std::string("CUDA call '") + expr + "' failed: " + cudaGetErrorName(err) + " (" +
              cudaGetErrorString(err) + ") at " + file + ":" + std::to_string(line));
}

[[noreturn]] inline void throw_cublas_error(const char* expr, cublasStatus_t status,
                                            const char* file, int line) {
  throw Error(std::string("cuBLAS call '") + expr + "' failed: " + cublasGetStatusName(status) +
              " (" + cublasGetStatusString(status) + ") at " + file + ":" + std::to_string(line));
}

}  // namespace trip::gpu

#define TRIP_CUDA_CHECK(expr)                                                   \
  do {                                                                          \
    cudaError_t trip_cuda_err_ = (expr);                                        \
    if (trip_cuda_err_ != cudaSuccess) {                                        \
      ::trip::gpu::throw_cuda_error(#expr, trip_cuda_err_, __FILE__, __LINE__); \
    }                                                                           \
  } while (0)

#define TRIP_CUBLAS_CHECK(expr)                                                        \
  do {                                                                                 \
    cublasStatus_t trip_cublas_status_ = (expr);                                       \
    if (trip_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                \
      ::trip::gpu::throw_cublas_error(#expr, trip_cublas_status_, __FILE__, __LINE__); \
    }                                                                                  \
  } while (0)
