// Softmax and log-softmax along one dim. Both backward formulas use the saved output y only:
//   softmax:     dx = y * (g - sum(g * y))            (the Jacobian diag(y) - y y^T applied to g)
//   log_softmax: dx = g - exp(y) * sum(g)
#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

Tensor softmax(const Tensor& t, int64_t dim) {
  Tensor y = ops::softmax(t, dim);
  return record("SoftmaxBackward", y, {t}, [dim, y = save(y)](const Tensor& g) {
    Tensor yv = y.get();
    return Grads{yv * (g - sum(g * yv, {dim}, /*keepdim=*/true))};
  });
}

Tensor log_softmax(const Tensor& t, int64_t dim) {
  Tensor y = ops::log_softmax(t, dim);
  return record("LogSoftmaxBackward", y, {t}, [dim, y = save(y)](const Tensor& g) {
    return Grads{g - exp(y.get()) * sum(g, {dim}, /*keepdim=*/true)};
  });
}

}  // namespace trip
