#include "tensor/cuda/nvcc_fmt.h"

// defines: conv_forward / conv_backward on CUDA through cuDNN's legacy convolution API
// (cudnnConvolutionForward, BackwardData, BackwardFilter), and TRIP_CUDNN_CHECK.
//
// - A conv1d runs as a conv2d over [N, C, 1, W] (cuDNN's Nd descriptors need 4 or 5 dims).
// - Each (shape, params, dtype, direction) picks its algorithm once, by cuDNN's heuristics
//   (cudnnGet*_v7, fastest first), and caches it; the workspace comes from the caching allocator.
//   TRIP_CUDNN_DETERMINISTIC=1 keeps only algorithms cuDNN reports deterministic (some backward
//   algorithms accumulate with atomics, so their sums depend on scheduling).
// - 16-bit dtypes compute in f32; f32 uses TF32 tensor cores only with TRIP_ALLOW_TF32=1, as
//   matmul does.
// - The bias add and bias gradient are two small kernels of ours rather than cudnnAddTensor /
//   cudnnConvolutionBackwardBias: one code path for every dtype (bf16 included) and a bias
//   gradient that is deterministic (one block per channel, fixed reduction tree).
#include <cudnn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "tensor/convert.h"
#include "tensor/cuda/allocator.h"
#include "tensor/cuda/check.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/dtype.h"

#define TRIP_CUDNN_CHECK(expr)                                                   \
  do {                                                                           \
    cudnnStatus_t trip_cudnn_status_ = (expr);                                   \
    if (trip_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                            \
      ::trip::fail("cuDNN call '{}' failed: {} at {}:{}", #expr,                 \
                   cudnnGetErrorString(trip_cudnn_status_), __FILE__, __LINE__); \
    }                                                                            \
  } while (0)

namespace trip::gpu {
namespace {

// One handle per device, kept for the life of the process (as blas_handle in matmul.cu).
cudnnHandle_t dnn_handle(int device) {
  static std::mutex mutex;
  static auto* handles = new std::unordered_map<int, cudnnHandle_t>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles->find(device);
  if (it != handles->end()) return it->second;
  cudnnHandle_t handle = nullptr;
  TRIP_CUDNN_CHECK(cudnnCreate(&handle));
  TRIP_CUDNN_CHECK(cudnnSetStream(handle, 0));  // all our work is on the default stream
  handles->emplace(device, handle);
  return handle;
}

bool env_is_1(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "1") == 0;
}

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::f64:
      return CUDNN_DATA_DOUBLE;
    case DType::f16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    default:
      fail("conv (cuda): unsupported dtype {}", t);
  }
}

// The descriptors of one convolution, destroyed with it.
struct ConvDescriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  std::string key;  // shapes, params, dtype, math mode: what the algorithm choice depends on

  ConvDescriptors(const Tensor& input, const Tensor& weight, const Tensor& out,
                  const ConvParams& p) {
    TRIP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    TRIP_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    TRIP_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    TRIP_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    // A conv1d gains a leading spatial dim of size 1 with a trivial kernel.
    int extra = p.spatial == 1 ? 1 : 0, nd = p.spatial + 2 + extra, ns = nd - 2;
    int xd[5], yd[5], wd[5], pad[3], stride[3], dil[3];
    auto fill = [&](int* d, const Tensor& t) {
      d[0] = int(t.size(0)), d[1] = int(t.size(1));
      if (extra) d[2] = 1;
      for (int i = 0; i < p.spatial; ++i) d[2 + extra + i] = int(t.size(2 + i));
    };
    fill(xd, input), fill(yd, out), fill(wd, weight);
    if (extra) pad[0] = 0, stride[0] = 1, dil[0] = 1;
    for (int i = 0; i < p.spatial; ++i) {
      pad[extra + i] = int(p.padding[i]), stride[extra + i] = int(p.stride[i]);
      dil[extra + i] = int(p.dilation[i]);
    }
    cudnnDataType_t dt = data_type(input.dtype());
    auto set_tensor = [&](cudnnTensorDescriptor_t desc, const int* d) {
      int st[5];
      st[nd - 1] = 1;
      for (int i = nd - 2; i >= 0; --i) st[i] = st[i + 1] * d[i + 1];
      TRIP_CUDNN_CHECK(cudnnSetTensorNdDescriptor(desc, dt, nd, d, st));
    };
    set_tensor(x, xd), set_tensor(y, yd);
    TRIP_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w, dt, CUDNN_TENSOR_NCHW, nd, wd));
    cudnnDataType_t compute = dt == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    TRIP_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv, ns, pad, stride, dil,
                                                     CUDNN_CROSS_CORRELATION, compute));
    TRIP_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, int(p.groups)));
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
    if (dt == CUDNN_DATA_HALF || dt == CUDNN_DATA_BFLOAT16) math = CUDNN_TENSOR_OP_MATH;
    if (dt == CUDNN_DATA_FLOAT && !env_is_1("TRIP_ALLOW_TF32")) math = CUDNN_FMA_MATH;
    TRIP_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
    key = fmt::format("{} d{} m{} g{}", dtype_name(input.dtype()), input.device().index, int(math),
                      p.groups);
    for (int i = 0; i < nd; ++i) key += fmt::format(" {}/{}/{}", xd[i], wd[i], yd[i]);
    for (int i = 0; i < ns; ++i) key += fmt::format(" {},{},{}", pad[i], stride[i], dil[i]);
  }
  ~ConvDescriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;
};

// Largest workspace an algorithm may ask for; faster algorithms needing more are passed over.
constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

// The first (fastest by cuDNN's estimate) usable entry of a cudnnGet*_v7 result.
template <typename Perf>
int pick(const Perf* perf, int count, const char* what) {
  bool deterministic = env_is_1("TRIP_CUDNN_DETERMINISTIC");
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspaceBytes) continue;
    if (deterministic && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    return int(perf[i].algo);
  }
  fail("conv (cuda): cuDNN offers no usable {} algorithm{}", what,
       deterministic ? " (TRIP_CUDNN_DETERMINISTIC=1 allows only deterministic ones)" : "");
}

enum class Direction { forward, backward_data, backward_filter };

// The cached algorithm for this convolution and direction, chosen on first use.
int algorithm(cudnnHandle_t h, const ConvDescriptors& d, Direction dir) {
  static std::mutex mutex;
  static auto* cache = new std::unordered_map<std::string, int>();
  std::string key = fmt::format("{} {}", int(dir), d.key);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  constexpr int kMax = 16;
  int count = 0, algo = 0;
  if (dir == Direction::forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    TRIP_CUDNN_CHECK(
        cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, kMax, &count, perf));
    algo = pick(perf, count, "forward");
  } else if (dir == Direction::backward_data) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    TRIP_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, kMax, &count, perf));
    algo = pick(perf, count, "backward-data");
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    TRIP_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, kMax,
                                                                   &count, perf));
    algo = pick(perf, count, "backward-filter");
  }
  std::lock_guard<std::mutex> lock(mutex);
  cache->emplace(key, algo);
  return algo;
}

// cuDNN's alpha/beta are double for double data and float otherwise.
struct Scale {
  double d;
  float f;
  const void* ptr(DType t) const { return t == DType::f64 ? static_cast<const void*>(&d) : &f; }
};
const Scale kOne{1.0, 1.0f}, kZero{0.0, 0.0f};

// out[n, c, l] += bias[c], computed in the compute type and rounded once.
template <typename T>
__global__ void add_bias_kernel(T* out, const T* bias, int64_t channels, int64_t plane,
                                int64_t total) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = i / plane % channels;
    out[i] = convert<T>(convert<C>(out[i]) + convert<C>(bias[c]));
  }
}

// grad_bias[c] = sum over n and l of grad_out[n, c, l]: one block per channel, each thread sums
// a fixed strided subset in double, then a fixed tree: the same bits on every run.
template <typename T>
__global__ void bias_grad_kernel(const T* go, T* gb, int64_t n, int64_t channels, int64_t plane) {
  __shared__ double partial[kBlock];
  int64_t c = blockIdx.x;
  double s = 0;
  for (int64_t i = threadIdx.x; i < n * plane; i += kBlock) {
    int64_t b = i / plane, l = i % plane;
    s += convert<double>(go[(b * channels + c) * plane + l]);
  }
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) gb[c] = convert<T>(partial[0]);
}

}  // namespace

void conv_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& out,
                  const ConvParams& p) {
  DeviceGuard guard(out);
  int device = out.device().index;
  cudnnHandle_t h = dnn_handle(device);
  ConvDescriptors d(input, weight, out, p);
  auto algo = cudnnConvolutionFwdAlgo_t(algorithm(h, d, Direction::forward));
  size_t ws = 0;
  TRIP_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, algo, &ws));
  DeviceBuffer workspace(ws, device);
  DType t = input.dtype();
  TRIP_CUDNN_CHECK(cudnnConvolutionForward(h, kOne.ptr(t), d.x, input.data_ptr(), d.w,
                                           weight.data_ptr(), d.conv, algo, workspace.get(), ws,
                                           kZero.ptr(t), d.y, out.data_ptr()));
  if (bias.defined()) {
    int64_t channels = out.size(1), plane = out.numel() / (out.size(0) * channels);
    dispatch_floating(t, "conv_forward (cuda)", [&](auto tag) {
      using T = typename decltype(tag)::type;
      add_bias_kernel<T><<<grid_size(out.numel()), kBlock>>>(static_cast<T*>(out.data_ptr()),
                                                             static_cast<const T*>(bias.data_ptr()),
                                                             channels, plane, out.numel());
      TRIP_CUDA_CHECK_LAUNCH();
    });
  }
}

void conv_backward(const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                   const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                   const ConvParams& p) {
  DeviceGuard guard(grad_out);
  int device = grad_out.device().index;
  DType t = input.dtype();
  if (grad_bias.defined()) {
    int64_t channels = grad_out.size(1), n = grad_out.size(0);
    int64_t plane = grad_out.numel() / (n * channels);
    dispatch_floating(t, "conv_backward (cuda)", [&](auto tag) {
      using T = typename decltype(tag)::type;
      bias_grad_kernel<T><<<unsigned(channels), kBlock>>>(
          static_cast<const T*>(grad_out.data_ptr()), static_cast<T*>(grad_bias.data_ptr()), n,
          channels, plane);
      TRIP_CUDA_CHECK_LAUNCH();
    });
  }
  if (!grad_input.defined() && !grad_weight.defined()) return;
  cudnnHandle_t h = dnn_handle(device);
  ConvDescriptors d(input, weight, grad_out, p);
  if (grad_input.defined()) {
    auto algo = cudnnConvolutionBwdDataAlgo_t(algorithm(h, d, Direction::backward_data));
    size_t ws = 0;
    TRIP_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, algo, &ws));
    DeviceBuffer workspace(ws, device);
    TRIP_CUDNN_CHECK(cudnnConvolutionBackwardData(
        h, kOne.ptr(t), d.w, weight.data_ptr(), d.y, grad_out.data_ptr(), d.conv, algo,
        workspace.get(), ws, kZero.ptr(t), d.x, grad_input.data_ptr()));
  }
  if (grad_weight.defined()) {
    auto algo = cudnnConvolutionBwdFilterAlgo_t(algorithm(h, d, Direction::backward_filter));
    size_t ws = 0;
    TRIP_CUDNN_CHECK(
        cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, algo, &ws));
    DeviceBuffer workspace(ws, device);
    TRIP_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        h, kOne.ptr(t), d.x, input.data_ptr(), d.y, grad_out.data_ptr(), d.conv, algo,
        workspace.get(), ws, kZero.ptr(t), d.w, grad_weight.data_ptr()));
  }
}

}  // namespace trip::gpu
