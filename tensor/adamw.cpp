// defines: ops::adamw_step_, the checked entry point of the fused multi-tensor AdamW kernels
// (tensor/cpu/adamw.cpp, tensor/cuda/adamw.cu).
#include "tensor/adamw.h"

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace trip::ops {

void adamw_step_(const std::vector<AdamWTensors>& params) {
  if (params.empty()) return;
  const Device device = params[0].p.defined() ? params[0].p.device() : kCPU;
  for (size_t i = 0; i < params.size(); ++i) {
    const AdamWTensors& t = params[i];
    TRIP_CHECK(t.p.defined() && t.g.defined() && t.m.defined() && t.v.defined(),
               "adamw_step_: parameter {}: p, g, m and v must all be defined", i);
    TRIP_CHECK(t.p.dtype() == DType::f32 || t.p.dtype() == DType::f64,
               "adamw_step_: parameter {} has dtype {}; the fused step takes f32 or f64", i,
               t.p.dtype());
    for (const Tensor* x : {&t.g, &t.m, &t.v}) {
      TRIP_CHECK(x->dtype() == t.p.dtype() && x->shape() == t.p.shape(),
                 "adamw_step_: parameter {} is {} {}, but its g/m/v has {} {}", i, t.p.dtype(),
                 t.p.shape(), x->dtype(), x->shape());
    }
    for (const Tensor* x : {&t.p, &t.g, &t.m, &t.v}) {
      TRIP_CHECK(x->device() == device, "adamw_step_: parameter {} has a tensor on {}, not {}", i,
                 x->device(), device);
      TRIP_CHECK(x->is_contiguous(), "adamw_step_: parameter {} has a non-contiguous tensor {}", i,
                 x->shape());
    }
  }
  backend(device).adamw_step(params);
  // Raw writes: tell autograd, as the in-place ops do.
  for (const AdamWTensors& t : params) {
    t.p.storage()->bump_version();
    t.m.storage()->bump_version();
    t.v.storage()->bump_version();
  }
}

}  // namespace trip::ops
