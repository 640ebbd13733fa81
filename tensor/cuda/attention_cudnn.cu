#include "tensor/cuda/nvcc_fmt.h"

// defines: cudnn_attention_forward/backward, cuDNN 9's fused flash attention (f16/bf16) through the
// backend graph API, used when ops::attention_backend() is cudnn (TRIP_ATTENTION=cudnn). The graphs
// are the ones NVIDIA's cudnn-frontend builds for sdpa / sdpa_backward without masks or dropout
// (include/cudnn_frontend/node/scaled_dot_product_flash_attention.h), node for node, because the
// fused engines recognise exactly that pattern:
//   forward:  S = Q K^T * scale; softmax of S as max, sub, exp, sum, div, with
//             stats = max + log(sum) (our lse); O = P V with P in the input dtype.
//   backward: softmax_sum = rowsum(dO * O); P = exp(S - stats); dV = P^T dO;
//             dS = (dO V^T - softmax_sum) * P * scale; dK = dS^T Q; dQ = dS K, through a float
//             dQ accumulator.
// The forward falls back to cuDNN's single SDPA operation (9.13.1+) when the composite graph
// finds no engine.
// An execution plan is built once per (device, dtype, shape, direction) and cached; a shape cuDNN
// cannot run (no engine, too old a library, head dim) is remembered too, reported once on stderr,
// and runs our kernel (tensor/cuda/attention.cu), as f32/f64 always do. The lse both write is the
// natural-log log-sum-exp of the scaled scores, so a forward of one and backward of the other mix.
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tensor/cuda/allocator.h"
#include "tensor/cuda/cudnn_graph.h"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/launch.h"
#include "tensor/ops.h"

namespace trip {
namespace {
std::atomic<int64_t> g_cudnn_runs{0};
}  // namespace

int64_t ops::cudnn_attention_runs() { return g_cudnn_runs.load(); }

namespace gpu {
std::string cudnn_attention_self_check_impl();
}

std::string ops::cudnn_attention_self_check() { return gpu::cudnn_attention_self_check_impl(); }

namespace gpu {
namespace {

// cuDNN before 9.16 needs frontend-side workarounds for backward with Lk % 128 != 0 (a padding
// mask) that these graphs do not carry; 9.10.0/9.10.1 have known wrong backward results.
constexpr size_t kMinVersion = 91600;
constexpr int64_t kMaxHeadDim = 128;  // the limit of every GPU generation's fused kernels

// Unique ids of the tensors bound to memory (virtual tensors count from 1000, cudnn_graph.h).
enum Uid : int64_t {
  kQ = 1,
  kK,
  kV,
  kO,
  kStats,
  kScale,
  kDO,
  kDQ,
  kDK,
  kDV,
  kOne,
  kSoftmaxSum,
  kDQAccum
};

struct Key {
  int device, dtype;
  int64_t b, h, sq, skv, d;
  bool backward;
  bool operator<(const Key& o) const {
    return std::tie(device, dtype, b, h, sq, skv, d, backward) <
           std::tie(o.device, o.dtype, o.b, o.h, o.sq, o.skv, o.d, o.backward);
  }
};

struct Plan {
  CudnnGraph graph;  // owns the tensor and operation descriptors
  CudnnDesc op_graph{CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR};
  std::vector<CudnnDesc> configs;
  std::unique_ptr<CudnnDesc> plan;
  int64_t workspace = 0;
};

struct Cache {
  std::mutex mutex;  // guards everything here, and serialises executions on the shared handles
  std::map<int, cudnnHandle_t> handles;
  std::map<Key, std::shared_ptr<Plan>> plans;
  std::map<Key, std::string> unsupported;  // key -> why cuDNN cannot run it
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: handles must outlive static destructors
  return *c;
}

// The device's handle (created with it current: the caller holds a DeviceGuard). Mutex held.
cudnnHandle_t handle_for(int device) {
  auto it = cache().handles.find(device);
  if (it != cache().handles.end()) return it->second;
  cudnnHandle_t h = nullptr;
  TRIP_CUDNN_CHECK(cudnnCreate(&h));
  TRIP_CUDNN_CHECK(cudnnSetStream(h, nullptr));  // the legacy default stream, like our kernels
  cache().handles[device] = h;
  return h;
}

void build_forward(CudnnGraph& g, cudnnDataType_t io, const Key& k) {
  const int64_t b = k.b, h = k.h, sq = k.sq, skv = k.skv, d = k.d;
  const Dims4 scores{b, h, sq, skv}, rows{b, h, sq, 1}, row_strides{h * sq, sq, 1, 1};
  auto q = g.tensor(kQ, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  // K^T: K's memory [b, h, skv, d] seen as [b, h, d, skv].
  auto kt = g.tensor(kK, io, {b, h, d, skv}, {h * skv * d, skv * d, 1, d});
  auto v = g.tensor(kV, io, {b, h, skv, d}, row_major({b, h, skv, d}));
  auto o = g.tensor(kO, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto stats = g.tensor(kStats, CUDNN_DATA_FLOAT, rows, row_strides);
  auto scale = g.scalar(kScale);

  auto s = g.virt(scores);
  g.matmul(q, kt, s);
  auto scaled = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_MUL, s, scale, scaled);
  auto max = g.virt(rows, row_strides);
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, scaled, max);
  auto shifted = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_SUB, scaled, max, shifted);
  auto e = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_EXP, shifted, nullptr, e);
  auto sum = g.virt(rows, row_strides);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, sum);
  auto log_sum = g.virt(rows, row_strides);
  g.pointwise(CUDNN_POINTWISE_LOG, sum, nullptr, log_sum);
  g.pointwise(CUDNN_POINTWISE_ADD, max, log_sum, stats);
  auto p = g.virt(scores, io);  // the second matmul takes P in the input dtype
  g.pointwise(CUDNN_POINTWISE_DIV, e, sum, p);
  g.matmul(p, v, o);
}

// The same forward as cuDNN's one SDPA operation (cuDNN >= 9.13.1; what the frontend picks there).
void build_forward_op(CudnnGraph& g, cudnnDataType_t io, const Key& k) {
  const int64_t b = k.b, h = k.h, sq = k.sq, skv = k.skv, d = k.d;
  auto q = g.tensor(kQ, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto kk = g.tensor(kK, io, {b, h, skv, d}, row_major({b, h, skv, d}));
  auto v = g.tensor(kV, io, {b, h, skv, d}, row_major({b, h, skv, d}));
  auto o = g.tensor(kO, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto stats = g.tensor(kStats, CUDNN_DATA_FLOAT, {b, h, sq, 1}, {h * sq, sq, 1, 1});
  g.sdpa_forward(q, kk, v, o, stats, g.scalar(kScale));
}

void build_backward(CudnnGraph& g, cudnnDataType_t io, const Key& k) {
  const int64_t b = k.b, h = k.h, sq = k.sq, skv = k.skv, d = k.d;
  const Dims4 scores{b, h, sq, skv}, rows{b, h, sq, 1}, row_strides{h * sq, sq, 1, 1};
  const Dims4 transposed{b, h, skv, sq}, transposed_strides{h * sq * skv, sq * skv, 1, skv};
  auto q = g.tensor(kQ, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto kt = g.tensor(kK, io, {b, h, d, skv}, {h * skv * d, skv * d, 1, d});
  auto vt = g.tensor(kV, io, {b, h, d, skv}, {h * skv * d, skv * d, 1, d});
  auto o = g.tensor(kO, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto d_o = g.tensor(kDO, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto stats = g.tensor(kStats, CUDNN_DATA_FLOAT, rows, row_strides);
  auto scale = g.scalar(kScale);
  auto one = g.scalar(kOne);
  auto dq = g.tensor(kDQ, io, {b, h, sq, d}, row_major({b, h, sq, d}));
  auto dk = g.tensor(kDK, io, {b, h, skv, d}, row_major({b, h, skv, d}));
  auto dv = g.tensor(kDV, io, {b, h, skv, d}, row_major({b, h, skv, d}));
  auto softmax_sum = g.tensor(kSoftmaxSum, CUDNN_DATA_FLOAT, rows, row_strides);
  auto dq_accum = g.tensor(kDQAccum, CUDNN_DATA_FLOAT, {b, h, sq, d}, row_major({b, h, sq, d}));

  // softmax_sum = rowsum(dO * O) (* 1, the frontend's dropout-free scale).
  auto do_o = g.virt({b, h, sq, d}, {h * sq * d, sq * d, h * d, 1});  // the frontend's strides
  g.pointwise(CUDNN_POINTWISE_MUL, d_o, o, do_o);
  auto row_sum = g.virt(rows, row_strides);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, do_o, row_sum);
  g.pointwise(CUDNN_POINTWISE_MUL, row_sum, one, softmax_sum);
  // P = exp(Q K^T * scale - stats); dV = P^T dO.
  auto s = g.virt(scores);
  g.matmul(q, kt, s);
  auto scaled = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_MUL, s, scale, scaled);
  auto shifted = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_SUB, scaled, stats, shifted);
  auto p = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_EXP, shifted, nullptr, p);
  auto pt = g.virt(transposed, transposed_strides, io);
  g.reshape(p, pt);
  g.matmul(pt, d_o, dv);
  // dS = (dO V^T - softmax_sum) * P * scale; dK = dS^T Q.
  auto dp = g.virt(scores);
  g.matmul(d_o, vt, dp);
  auto centred = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_SUB, dp, softmax_sum, centred);
  auto weighted = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_MUL, centred, p, weighted);
  auto ds = g.virt(scores);
  g.pointwise(CUDNN_POINTWISE_MUL, weighted, scale, ds);
  auto dst = g.virt(transposed, transposed_strides, io);
  g.reshape(ds, dst);
  g.matmul(dst, q, dk);
  // dQ = dS K, accumulated in float, then converted.
  auto k_rows = g.virt({b, h, skv, d}, row_major({b, h, skv, d}), io);
  g.reshape(kt, k_rows);
  g.matmul(ds, k_rows, dq_accum);
  g.pointwise(CUDNN_POINTWISE_IDENTITY, dq_accum, nullptr, dq);
}

using GraphBuilder = void (*)(CudnnGraph&, cudnnDataType_t, const Key&);

// Builds and finalises a graph and the first execution plan the heuristics offer that finalises.
// Throws trip::Error (with cuDNN's message) when there is none.
std::shared_ptr<Plan> build_plan(const Key& key, GraphBuilder build, cudnnDataType_t io,
                                 cudnnHandle_t handle) {
  auto plan = std::make_shared<Plan>();
  build(plan->graph, io, key);
  const std::vector<cudnnBackendDescriptor_t>& ops = plan->graph.ops();
  plan->op_graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, ops.data(),
                     int64_t(ops.size()));
  plan->op_graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &handle);
  plan->op_graph.finalize();

  CudnnDesc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  heur.set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, plan->op_graph.get());
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &mode);
  heur.finalize();
  int64_t count = 0;
  TRIP_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                            CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  TRIP_CHECK(count > 0, "cuDNN heuristics offer no engine for this graph");
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    plan->configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(plan->configs.back().get());
  }
  int64_t got = 0;
  TRIP_CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                            CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got,
                                            raw.data()));
  std::string why;
  for (int64_t i = 0; i < got && !plan->plan; ++i) {
    auto candidate = std::make_unique<CudnnDesc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    candidate->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &handle);
    candidate->set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, raw[size_t(i)]);
    cudnnStatus_t status = cudnnBackendFinalize(candidate->get());
    if (status == CUDNN_STATUS_SUCCESS) {
      plan->plan = std::move(candidate);
    } else {
      why = cudnnGetErrorString(status);
    }
  }
  TRIP_CHECK(plan->plan, "none of the {} engine configurations cuDNN offers finalises (last: {})",
             got, why);
  int64_t n = 0;
  TRIP_CUDNN_CHECK(cudnnBackendGetAttribute(plan->plan->get(),
                                            CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                            CUDNN_TYPE_INT64, 1, &n, &plan->workspace));
  return plan;
}

// The cached plan for `key`, or null (after one stderr line per key) when cuDNN cannot run it.
// Returns with the cache mutex held through `lock`.
std::shared_ptr<Plan> find_plan(const Key& key, cudnnDataType_t io, std::string reason,
                                std::unique_lock<std::mutex>& lock) {
  Cache& c = cache();
  lock = std::unique_lock<std::mutex>(c.mutex);
  if (auto it = c.plans.find(key); it != c.plans.end()) return it->second;
  if (c.unsupported.count(key)) return nullptr;
  if (reason.empty()) {
    // The forward as the composite graph (what PyTorch's cuDNN attention builds), else as the
    // one SDPA operation of newer cuDNN; the backward exists only as a composite graph.
    struct Candidate {
      const char* name;
      GraphBuilder build;
    };
    std::vector<Candidate> candidates;
    if (key.backward) {
      candidates.push_back({"composite graph", build_backward});
    } else {
      candidates.push_back({"composite graph", build_forward});
      if (cudnnGetVersion() >= 91301) candidates.push_back({"SDPA operation", build_forward_op});
    }
    for (const Candidate& candidate : candidates) {
      try {
        std::shared_ptr<Plan> plan = build_plan(key, candidate.build, io, handle_for(key.device));
        c.plans[key] = plan;
        return plan;
      } catch (const Error& e) {
        reason += fmt::format("{}{}: {}", reason.empty() ? "" : "; ", candidate.name, e.what());
      }
    }
  }
  c.unsupported[key] = reason;
  fmt::print(stderr,
             "trip: TRIP_ATTENTION=cudnn: cuDNN cannot run attention {} [B={}, H={}, Lq={}, "
             "Lk={}, Dh={}] in {}: {}; using our kernel\n",
             key.backward ? "backward" : "forward", key.b, key.h, key.sq, key.skv, key.d,
             dtype_name(DType(key.dtype)), reason);
  return nullptr;
}

// Whether cuDNN applies: selected, f16/bf16, every operand at a 16-byte aligned address. Then
// sets the plan key, the cuDNN dtype, and `reason`: why cuDNN cannot run this shape (empty when
// it may; the heuristics have the last word).
bool applies(const Tensor& q, const Tensor& k, bool backward, const std::vector<Tensor>& all,
             Key& key, cudnnDataType_t& io, std::string& reason) {
  if (ops::attention_backend() != ops::AttentionBackend::cudnn) return false;
  if (q.dtype() == DType::bf16) {
    io = CUDNN_DATA_BFLOAT16;
  } else if (q.dtype() == DType::f16) {
    io = CUDNN_DATA_HALF;
  } else {
    return false;  // cuDNN's fused attention is 16-bit only: f32/f64 always run our kernel
  }
  key = {q.device().index, int(q.dtype()), q.size(0), q.size(1),
         q.size(2),        k.size(2),      q.size(3), backward};
  const size_t version = cudnnGetVersion();
  if (version < kMinVersion) {
    reason = fmt::format("cuDNN {} is older than {}", version, kMinVersion);
  } else if (key.d % 8 != 0 || key.d > kMaxHeadDim) {
    reason = fmt::format("head dim {} is not a multiple of 8 up to {}", key.d, kMaxHeadDim);
  } else if (backward && key.sq == 1 && key.skv == 1) {
    reason = "Lq = Lk = 1 is not supported by the backward engines";
  }
  for (const Tensor& t : all) {
    if (reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 != 0) {
      return false;  // a view at an odd offset: not worth a plan entry, run ours
    }
  }
  return true;
}

void execute(const Plan& plan, cudnnHandle_t handle, int device, std::vector<int64_t> uids,
             std::vector<void*> pointers) {
  DeviceBuffer workspace(size_t(plan.workspace), device);
  CudnnDesc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids.data(), int64_t(uids.size()));
  pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, pointers.data(),
           int64_t(pointers.size()));
  void* ws = workspace.get();
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, &ws);
  pack.finalize();
  TRIP_CUDNN_CHECK(cudnnBackendExecute(handle, plan.plan->get(), pack.get()));
  ++g_cudnn_runs;
  // `workspace` returns to the caching allocator: its next user queues behind this work on the
  // default stream.
}

}  // namespace

std::string cudnn_attention_self_check_impl() {
  const GraphBuilder builders[] = {build_forward, build_forward_op, build_backward};
  const char* names[] = {"forward graph", "forward SDPA operation", "backward graph"};
  std::string errors;
  for (int i = 0; i < 3; ++i) {
    if (i == 1 && cudnnGetVersion() < 91301) continue;
    for (cudnnDataType_t io : {CUDNN_DATA_BFLOAT16, CUDNN_DATA_HALF}) {
      try {
        CudnnGraph g;
        builders[i](g, io, Key{0, int(DType::bf16), 2, 3, 77, 130, 64, i == 2});
      } catch (const Error& e) {
        errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", names[i], e.what());
      }
    }
  }
  return errors;
}

bool cudnn_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                             const Tensor& out, const Tensor& lse) {
  Key key{};
  cudnnDataType_t io{};
  std::string reason;
  if (!applies(q, k, false, {q, k, v, out, lse}, key, io, reason)) return false;
  DeviceGuard guard(q);
  std::unique_lock<std::mutex> lock;
  std::shared_ptr<Plan> plan = find_plan(key, io, reason, lock);
  if (!plan) return false;
  float scale_value = float(scale);  // by value: read from host memory at execution
  execute(*plan, handle_for(key.device), key.device, {kQ, kK, kV, kO, kStats, kScale},
          {q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), lse.data_ptr(), &scale_value});
  return true;
}

bool cudnn_attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                              const Tensor& v, const Tensor& out, const Tensor& lse, double scale,
                              const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) {
  Key key{};
  cudnnDataType_t io{};
  std::string reason;
  if (!applies(q, k, true, {grad_out, q, k, v, out, lse, grad_q, grad_k, grad_v}, key, io,
               reason)) {
    return false;
  }
  DeviceGuard guard(q);
  std::unique_lock<std::mutex> lock;
  std::shared_ptr<Plan> plan = find_plan(key, io, reason, lock);
  if (!plan) return false;
  // Scratch the frontend keeps in its workspace: softmax_sum [b, h, sq] and the f32 dQ
  // accumulator (zeroed: cuDNN before 9.6 expected that of the caller; harmless after).
  const size_t rows = size_t(key.b * key.h * key.sq);
  DeviceBuffer softmax_sum(rows * sizeof(float), key.device);
  DeviceBuffer dq_accum(rows * size_t(key.d) * sizeof(float), key.device);
  TRIP_CUDA_CHECK(cudaMemsetAsync(dq_accum.get(), 0, rows * size_t(key.d) * sizeof(float), 0));
  float scale_value = float(scale), one = 1.0f;
  execute(*plan, handle_for(key.device), key.device,
          {kQ, kK, kV, kO, kStats, kScale, kDO, kDQ, kDK, kDV, kOne, kSoftmaxSum, kDQAccum},
          {q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), lse.data_ptr(), &scale_value,
           grad_out.data_ptr(), grad_q.data_ptr(), grad_k.data_ptr(), grad_v.data_ptr(), &one,
           softmax_sum.get(), dq_accum.get()});
  return true;
}

}  // namespace gpu
}  // namespace trip
