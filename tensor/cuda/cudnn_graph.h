// defines: TRIP_CUDNN_CHECK, CudnnDesc (an owning cudnnBackendDescriptor_t) and CudnnGraph, a
// small builder of cuDNN backend operation graphs (tensors, matmul, pointwise, reduction and
// reshape operations) that keeps every descriptor alive as long as the plan built from them.
// It sets the same attributes as NVIDIA's cudnn-frontend graph API does for these nodes (compute
// type float, byte alignment 16, alpha1 = alpha2 = 1), since the fused engines match on them.
#pragma once
#include <cudnn.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace trip::gpu {

[[noreturn]] inline void throw_cudnn_error(const char* expr, cudnnStatus_t status, const char* file,
                                           int line) {
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));  // cuDNN's own description of the last error
  throw Error(std::string("cuDNN call '") + expr + "' failed: " + cudnnGetErrorString(status) +
              (detail[0] ? std::string(" (") + detail + ")" : std::string()) + " at " + file + ":" +
              std::to_string(line));
}

}  // namespace trip::gpu

#define TRIP_CUDNN_CHECK(expr)                                                       \
  do {                                                                               \
    cudnnStatus_t trip_cudnn_status_ = (expr);                                       \
    if (trip_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                                \
      ::trip::gpu::throw_cudnn_error(#expr, trip_cudnn_status_, __FILE__, __LINE__); \
    }                                                                                \
  } while (0)

namespace trip::gpu {

// Owns one backend descriptor; move-only.
class CudnnDesc {
 public:
  explicit CudnnDesc(cudnnBackendDescriptorType_t type) {
    TRIP_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &desc_));
  }
  ~CudnnDesc() {
    if (desc_) (void)cudnnBackendDestroyDescriptor(desc_);
  }
  CudnnDesc(CudnnDesc&& other) noexcept : desc_(other.desc_) { other.desc_ = nullptr; }
  CudnnDesc& operator=(CudnnDesc&& other) noexcept {
    std::swap(desc_, other.desc_);
    return *this;
  }
  CudnnDesc(const CudnnDesc&) = delete;
  CudnnDesc& operator=(const CudnnDesc&) = delete;
  cudnnBackendDescriptor_t get() const { return desc_; }

  template <typename T>
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const T* values,
           int64_t count = 1) {
    TRIP_CUDNN_CHECK(cudnnBackendSetAttribute(desc_, name, type, count, values));
  }
  void set_desc(cudnnBackendAttributeName_t name, cudnnBackendDescriptor_t d) {
    set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, &d);
  }
  void finalize() { TRIP_CUDNN_CHECK(cudnnBackendFinalize(desc_)); }

 private:
  cudnnBackendDescriptor_t desc_ = nullptr;
};

using Dims4 = std::array<int64_t, 4>;

inline Dims4 row_major(const Dims4& d) { return {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1}; }

// Operation graph under construction. Tensor descriptors are returned as raw handles owned by
// the graph; virtual (never materialised) tensors get unique ids from 1000 up, so callers keep
// ids below that for the tensors they bind to memory.
class CudnnGraph {
 public:
  cudnnBackendDescriptor_t tensor(int64_t uid, cudnnDataType_t type, const Dims4& dims,
                                  const Dims4& strides, bool is_virtual = false) {
    return tensor(uid, type, dims.data(), strides.data(), 4, is_virtual, false);
  }
  cudnnBackendDescriptor_t tensor(int64_t uid, cudnnDataType_t type, const int64_t* dims,
                                  const int64_t* strides, int64_t rank, bool is_virtual,
                                  bool by_value) {
    CudnnDesc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t alignment = 16;
    t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &type);
    t.set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims, rank);
    t.set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides, rank);
    t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid);
    t.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &alignment);
    const bool yes = true;
    if (is_virtual) t.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &yes);
    if (by_value) t.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, &yes);
    t.finalize();
    return keep(std::move(t));
  }
  // A virtual tensor (float unless said otherwise), row-major unless strides are given.
  cudnnBackendDescriptor_t virt(const Dims4& dims, cudnnDataType_t type = CUDNN_DATA_FLOAT) {
    return tensor(next_virtual_++, type, dims, row_major(dims), true);
  }
  cudnnBackendDescriptor_t virt(const Dims4& dims, const Dims4& strides,
                                cudnnDataType_t type = CUDNN_DATA_FLOAT) {
    return tensor(next_virtual_++, type, dims, strides, true);
  }
  // A float scalar passed by value at execution (a host pointer in the variant pack). Rank 4 of
  // ones: pointwise operations need operands of one rank (the frontend expands its scalars so).
  cudnnBackendDescriptor_t scalar(int64_t uid) {
    const Dims4 ones{1, 1, 1, 1};
    return tensor(uid, CUDNN_DATA_FLOAT, ones.data(), ones.data(), 4, false, true);
  }

  void matmul(cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t c) {
    CudnnDesc mm(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    mm.set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &compute);
    mm.finalize();
    CudnnDesc op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_ADESC, a);
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_BDESC, b);
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_CDESC, c);
    op.set_desc(CUDNN_ATTR_OPERATION_MATMUL_DESC, mm.get());
    op.finalize();
    keep(std::move(mm));
    add_op(std::move(op));
  }
  // y = mode(x) or mode(x, b) (b null for unary modes), computed in float.
  void pointwise(cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b,
                 cudnnBackendDescriptor_t y) {
    CudnnDesc pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &mode);
    pw.set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &prec);
    pw.finalize();
    CudnnDesc op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw.get());
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    if (b) op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b);
    op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    const float one = 1.0f;
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA1, CUDNN_TYPE_FLOAT, &one);
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_ALPHA2, CUDNN_TYPE_FLOAT, &one);
    op.finalize();
    keep(std::move(pw));
    add_op(std::move(op));
  }
  // y = reduce(x) over the dims where y has size 1.
  void reduction(cudnnReduceTensorOp_t mode, cudnnBackendDescriptor_t x,
                 cudnnBackendDescriptor_t y) {
    CudnnDesc red(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    red.set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &compute);
    red.set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, &mode);
    red.finalize();
    CudnnDesc op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_DESC, red.get());
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x);
    op.set_desc(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y);
    op.finalize();
    keep(std::move(red));
    add_op(std::move(op));
  }
  // cuDNN's single-operation attention forward (cuDNN >= 9.13.1): q, k, v [b, h, s, d] as in
  // memory, o, stats [b, h, sq, 1] f32, scale a by-value scalar.
  void sdpa_forward(cudnnBackendDescriptor_t q, cudnnBackendDescriptor_t k,
                    cudnnBackendDescriptor_t v, cudnnBackendDescriptor_t o,
                    cudnnBackendDescriptor_t stats, cudnnBackendDescriptor_t scale) {
#if CUDNN_VERSION >= 91301
    CudnnDesc op(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, q);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, k);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, v);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, o);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC, stats);
    op.set_desc(CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, scale);
    op.finalize();
    add_op(std::move(op));
#else
    (void)q, (void)k, (void)v, (void)o, (void)stats, (void)scale;
    fail("the SDPA forward operation needs cuDNN 9.13.1 headers (built with {})", CUDNN_VERSION);
#endif
  }
  // y views x's elements with other dims/strides (how the graphs express a transpose).
  void reshape(cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t y) {
    CudnnDesc op(CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR);
    op.set_desc(CUDNN_ATTR_OPERATION_RESHAPE_XDESC, x);
    op.set_desc(CUDNN_ATTR_OPERATION_RESHAPE_YDESC, y);
    op.finalize();
    add_op(std::move(op));
  }

  const std::vector<cudnnBackendDescriptor_t>& ops() const { return op_handles_; }

 private:
  cudnnBackendDescriptor_t keep(CudnnDesc d) {
    cudnnBackendDescriptor_t raw = d.get();
    owned_.push_back(std::move(d));
    return raw;
  }
  void add_op(CudnnDesc op) { op_handles_.push_back(keep(std::move(op))); }

  std::vector<CudnnDesc> owned_;
  std::vector<cudnnBackendDescriptor_t> op_handles_;
  int64_t next_virtual_ = 1000;
};

}  // namespace trip::gpu
