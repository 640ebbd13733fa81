// matmul with NumPy semantics. The backward works on the operands promoted to matrices (a 1-d
// a is a row [1, K], a 1-d b a column [K, 1]) and on the gradient with the dims matmul dropped
// put back; then
//   grad_a = g @ b^T,   grad_b = a^T @ g
// have the broadcast batch shape, and the engine sums them down to each operand's own shape;
// except that a matrix b shared by a batched a gets grad_b from one GEMM over all of a's rows.
#include "autograd/functions.h"
#include "autograd/record.h"

namespace trip {

Tensor matmul(const Tensor& a, const Tensor& b) {
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("MatmulBackward", ops::matmul(a, b), {a, b},
                [need_a, need_b, a = save(a), b = save(b)](const Tensor& g) {
                  Tensor av = a.get(), bv = b.get();
                  bool a_vector = av.dim() == 1, b_vector = bv.dim() == 1;
                  Tensor a2 = a_vector ? unsqueeze(av, 0) : av;   // [.., M, K]
                  Tensor b2 = b_vector ? unsqueeze(bv, -1) : bv;  // [.., K, N]
                  Tensor g2 = b_vector ? unsqueeze(g, -1) : g;    // restore N
                  if (a_vector) g2 = unsqueeze(g2, -2);           // restore M
                  Tensor ga, gb;
                  if (need_a) ga = matmul(g2, transpose(b2, -1, -2));  // [.., M, K]
                  if (need_b && b2.dim() == 2 && a2.dim() > 2) {
                    // A matrix b shared by a batch of a (a Linear weight): one GEMM over all
                    // rows, [K, rows] @ [rows, N], instead of a [batch.., K, N] gradient that
                    // the engine would then sum (a batch of thousands of tiny products).
                    gb = matmul(transpose(flatten(a2, 0, -2), 0, 1), flatten(g2, 0, -2));
                  } else if (need_b) {
                    gb = matmul(transpose(a2, -1, -2), g2);  // [.., K, N]
                  }
                  // A vector operand's gradient is [.., 1, K] / [.., K, 1]: sum the batch dims
                  // away here, since the engine cannot know where the vector's dim went.
                  if (need_a && a_vector) ga = reshape(sum_to(ga, a2.shape()), av.shape());
                  if (need_b && b_vector) gb = reshape(sum_to(gb, b2.shape()), bv.shape());
                  return Grads{ga, gb};
                });
}

}  // namespace trip
