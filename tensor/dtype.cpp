#include "tensor/dtype.h"

namespace trip {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::bf16:
      return "bf16";
    case DType::f16:
      return "f16";
    case DType::i32:
      return "i32";
    case DType::i64:
      return "i64";
    case DType::u8:
      return "u8";
    case DType::boolean:
      return "bool";
  }
  return "invalid";
}

// Rank of each dtype on the promotion ladder bool < u8 < i32 < i64 < (f16, bf16) < f32 < f64.
// f16 with bf16 gives f32, as in PyTorch, since neither holds the other.
static int rank(DType t) {
  switch (t) {
    case DType::boolean:
      return 0;
    case DType::u8:
      return 1;
    case DType::i32:
      return 2;
    case DType::i64:
      return 3;
    case DType::f16:
    case DType::bf16:
      return 4;
    case DType::f32:
      return 5;
    case DType::f64:
      return 6;
  }
  return -1;
}

DType promote(DType a, DType b) {
  if (a == b) return a;
  if ((a == DType::f16 && b == DType::bf16) || (a == DType::bf16 && b == DType::f16)) {
    return DType::f32;
  }
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace trip
