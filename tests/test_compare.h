// defines: worse(), the running maximum of errors for the tests' closeness checks. A NaN error
// (an unwritten element of a poisoned buffer, or a NaN result) counts as infinite: std::max
// keeps its first argument when the second is NaN, so a plain maximum would let it pass.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

namespace trip::test {

inline double worse(double worst, double err) {
  return std::isnan(err) ? std::numeric_limits<double>::infinity() : std::max(worst, err);
}

}  // namespace trip::test
