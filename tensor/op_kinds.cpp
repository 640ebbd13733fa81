#include "tensor/op_kinds.h"

namespace trip {

const char* op_name(UnaryOp op) {
  static const char* names[] = {"neg",        "abs",  "exp",       "log",  "sqrt",
                                "rsqrt",      "sin",  "cos",       "tanh", "sigmoid",
                                "silu",       "gelu", "gelu_tanh", "relu", "square",
                                "reciprocal", "pow",  "clamp",     "erf",  "sign"};
  return names[int(op)];
}

const char* op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum", "pow",
                                "eq",  "ne",  "lt",  "le",  "gt",      "ge"};
  return names[int(op)];
}

const char* op_name(ReduceOp op) {
  static const char* names[] = {"sum", "mean", "max", "min", "prod"};
  return names[int(op)];
}

}  // namespace trip
