// CPU reductions over the [outer, reduced, inner] geometry. Sums accumulate in double for every
// floating dtype below f64 (accuracy at no cost: the loops are memory-bound), except that f32 sums
// first run in f32 over short runs of at most 512 values (reduce_block_f32, reduce_columns). Long
// rows and long columns are cut into fixed blocks whose partial results are combined in order, so
// the result does not depend on the number of threads.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "tensor/convert.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/parallel.h"
#include "tensor/elementwise_math.h"

namespace trip::cpu {

namespace {

constexpr int64_t kBlock = 16384;  // elements per partial result of a long row

template <ReduceOp Op, typename A>
A identity() {
  if constexpr (Op == ReduceOp::sum || Op == ReduceOp::mean) return A(0);
  if constexpr (Op == ReduceOp::prod) return A(1);
  if constexpr (Op == ReduceOp::max) {
    if constexpr (std::numeric_limits<A>::has_infinity)
      return -std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::lowest();
  }
  if constexpr (Op == ReduceOp::min) {
    if constexpr (std::numeric_limits<A>::has_infinity)
      return std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::max();
  }
}

template <ReduceOp Op, typename A>
A combine(A acc, A x) {
  if constexpr (Op == ReduceOp::sum || Op == ReduceOp::mean) return acc + x;
  if constexpr (Op == ReduceOp::prod) return acc * x;
  if constexpr (Op == ReduceOp::max) return math::binary<BinaryOp::maximum, A>(x, acc);
  if constexpr (Op == ReduceOp::min) return math::binary<BinaryOp::minimum, A>(x, acc);
}

// f32 rows, the hot case: 32 float lanes (two AVX-512 registers: more lanes cost more to set up
// and fold than they gain on rows of ~1000, measured) over at most kBlock elements, so each lane
// sums at most 512 values before the lanes are combined in double. max/min compare-and-select (one
// vmaxps), which skips NaN; a running sum catches NaN instead (it turns NaN), and only then is the
// block redone with the exact NaN-aware loop (also when the sum overflows: slower, still correct).
template <ReduceOp Op>
double reduce_block_f32(const float* x, int64_t n) {
  constexpr int kLanes = 32;
  constexpr bool kExtreme = Op == ReduceOp::max || Op == ReduceOp::min;
  float acc[kLanes], check[kLanes] = {};
  for (int j = 0; j < kLanes; ++j) acc[j] = float(identity<Op, double>());
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int j = 0; j < kLanes; ++j) {
      float v = x[i + j];
      if constexpr (Op == ReduceOp::sum || Op == ReduceOp::mean) acc[j] += v;
      if constexpr (Op == ReduceOp::max) acc[j] = v > acc[j] ? v : acc[j];
      if constexpr (Op == ReduceOp::min) acc[j] = v < acc[j] ? v : acc[j];
      if constexpr (kExtreme) check[j] += v;
    }
  }
  // Fold the lanes to 16 with vector ops (a serial pass would cost more than a short row itself),
  // then finish in double.
  for (int width = kLanes / 2; width >= 16; width /= 2) {
#pragma omp simd
    for (int j = 0; j < width; ++j) {
      acc[j] = combine<Op, float>(acc[j], acc[j + width]);
      check[j] += check[j + width];
    }
  }
  double total = identity<Op, double>();
  bool suspect = false;
  for (int j = 0; j < 16; ++j) {
    total = combine<Op, double>(total, double(acc[j]));
    suspect |= check[j] != check[j];
  }
  if (suspect) {
    total = identity<Op, double>();
    i = 0;  // a NaN (or an overflowing sum) somewhere: redo the block with the exact combine
  }
  for (; i < n; ++i) total = combine<Op, double>(total, double(x[i]));
  return total;
}

// Reduces n contiguous elements in fixed blocks.
template <ReduceOp Op, typename T, typename A>
A reduce_span(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float> && Op != ReduceOp::prod) {
    A total = identity<Op, A>();
    for (int64_t start = 0; start < n; start += kBlock) {
      int64_t len = std::min(kBlock, n - start);
      total = combine<Op, A>(total, A(reduce_block_f32<Op>(x + start, len)));
    }
    return total;
  }
  A total = identity<Op, A>();
  for (int64_t start = 0; start < n; start += kBlock) {
    int64_t end = std::min(n, start + kBlock);
    A part = identity<Op, A>();
    if constexpr (Op == ReduceOp::sum || Op == ReduceOp::mean) {
#pragma omp simd reduction(+ : part)
      for (int64_t i = start; i < end; ++i) part += A(x[i]);
    } else {
      for (int64_t i = start; i < end; ++i) part = combine<Op, A>(part, A(x[i]));
    }
    total = combine<Op, A>(total, part);
  }
  return total;
}

// Column reductions (the reduced axis is not innermost: sum over leading axes, as the gradient of
// a broadcast bias). Work items are (outer, tile of <= kTile columns, chunk of rows); each sums its
// rows into per-column accumulators, vectorised along the columns. With more than one chunk the
// chunk partials go to a buffer and are combined in chunk order, so the rows are split over the
// threads too (a Linear bias's gradient [rows, out] -> [out] has outer 1 and one tile) and the
// result depends only on the shape, never on the thread count. f32 sums accumulate in f32 over at
// most kRowChunk rows per column (as the inner path's lanes over at most 512 values), then in
// double; a column whose f32 sum is not finite (NaN, inf or an overflow) is redone in double.
constexpr int64_t kTile = 1024;
constexpr int64_t kRowChunk = 256;

template <ReduceOp Op, typename T, typename A, typename Finish>
void reduce_columns(const T* x, T* y, ReduceGeometry g, Finish finish) {
  const int64_t R = g.reduced, I = g.inner, tile = std::min(I, kTile);
  const int64_t tiles = (I + tile - 1) / tile;
  // Rows per chunk: about kElementwiseGrain elements and at most 16 chunks (enough to share out,
  // and the partials stay small), but at least 64 rows (partials, in A, then cost at most 1/16 of
  // the input's traffic to write and read back) and at most kRowChunk.
  const int64_t rows = std::clamp<int64_t>(
      std::max<int64_t>(kElementwiseGrain / tile, (R + 15) / 16), 64, kRowChunk);
  const int64_t chunks = std::max<int64_t>(1, (R + rows - 1) / rows);
  constexpr bool kF32Sum =
      std::is_same_v<T, float> && (Op == ReduceOp::sum || Op == ReduceOp::mean);
  // Sums rows [r0, r1) of columns [i0, i0 + n) of outer slice o into acc.
  auto chunk_sum = [&](int64_t o, int64_t i0, int64_t n, int64_t r0, int64_t r1, A* acc) {
    const T* base = x + o * R * I + i0;
    if constexpr (kF32Sum) {
      float f[kTile];
      std::fill(f, f + n, 0.0f);
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = base + r * I;
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) f[i] += row[i];
      }
      for (int64_t i = 0; i < n; ++i) {
        if (std::isfinite(f[i])) {
          acc[i] = A(f[i]);
        } else {
          A s = 0;
          for (int64_t r = r0; r < r1; ++r) s += A(base[r * I + i]);
          acc[i] = s;
        }
      }
    } else {
      std::fill(acc, acc + n, identity<Op, A>());
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = base + r * I;
        for (int64_t i = 0; i < n; ++i) acc[i] = combine<Op, A>(acc[i], A(row[i]));
      }
    }
  };
  const int64_t per_item = std::min(R, rows) * tile;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(per_item, 1));
  if (chunks == 1) {
    parallel_for(g.outer * tiles, grain, [&](int64_t t0, int64_t t1) {
      A acc[kTile];
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t o = t / tiles, i0 = (t % tiles) * tile, n = std::min(tile, I - i0);
        chunk_sum(o, i0, n, 0, R, acc);
        for (int64_t i = 0; i < n; ++i) y[o * I + i0 + i] = finish(acc[i]);
      }
    });
    return;
  }
  // partial[(o * chunks + c) * I + i]: the sum of chunk c of column i of outer slice o.
  std::unique_ptr<A[]> partial(new A[size_t(g.outer * chunks * I)]);  // every entry is written
  parallel_for(g.outer * tiles * chunks, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t c = t % chunks, rest = t / chunks;
      const int64_t o = rest / tiles, i0 = (rest % tiles) * tile, n = std::min(tile, I - i0);
      chunk_sum(o, i0, n, c * rows, std::min(R, (c + 1) * rows),
                &partial[size_t((o * chunks + c) * I + i0)]);
    }
  });
  // Combined in chunk order, vectorised along the columns: blocks of 256 columns.
  constexpr int64_t kCols = 256;
  const int64_t blocks = (I + kCols - 1) / kCols;
  parallel_for(g.outer * blocks, std::max<int64_t>(1, kElementwiseGrain / (chunks * kCols)),
               [&](int64_t b0, int64_t b1) {
                 A total[kCols];
                 for (int64_t b = b0; b < b1; ++b) {
                   const int64_t o = b / blocks, i0 = (b % blocks) * kCols;
                   const int64_t n = std::min(kCols, I - i0);
                   const A* part = &partial[size_t(o * chunks * I + i0)];
                   std::copy(part, part + n, total);
                   for (int64_t c = 1; c < chunks; ++c) {
                     const A* row = part + c * I;
                     for (int64_t i = 0; i < n; ++i) total[i] = combine<Op, A>(total[i], row[i]);
                   }
                   for (int64_t i = 0; i < n; ++i) y[o * I + i0 + i] = finish(total[i]);
                 }
               });
}

template <ReduceOp Op, typename T>
void reduce_typed(const Tensor& in, const Tensor& out, ReduceGeometry g) {
  using A = acc_t<T>;
  const T* x = static_cast<const T*>(in.data_ptr());
  T* y = static_cast<T*>(out.data_ptr());
  int64_t R = g.reduced, I = g.inner;
  auto finish = [&](A v) -> T {
    if constexpr (Op == ReduceOp::mean)
      return T(v / A(R));
    else
      return T(v);
  };
  if (I == 1) {
    if (g.outer == 1 && R > kBlock) {
      // One long row: blocks in parallel, partials combined in order.
      int64_t blocks = (R + kBlock - 1) / kBlock;
      std::vector<A> parts(blocks);
      parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          parts[b] = reduce_span<Op, T, A>(x + b * kBlock, std::min(kBlock, R - b * kBlock));
        }
      });
      A total = identity<Op, A>();
      for (A p : parts) total = combine<Op, A>(total, p);
      y[0] = finish(total);
      return;
    }
    parallel_for(g.outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(R, 1)),
                 [&](int64_t o0, int64_t o1) {
                   for (int64_t o = o0; o < o1; ++o)
                     y[o] = finish(reduce_span<Op, T, A>(x + o * R, R));
                 });
    return;
  }
  reduce_columns<Op, T, A>(x, y, g, finish);
}

}  // namespace

void reduce(ReduceOp op, const Tensor& in, const Tensor& out, ReduceGeometry g) {
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case ReduceOp::sum:
        return reduce_typed<ReduceOp::sum, T>(in, out, g);
      case ReduceOp::mean:
        return reduce_typed<ReduceOp::mean, T>(in, out, g);
      case ReduceOp::max:
        return reduce_typed<ReduceOp::max, T>(in, out, g);
      case ReduceOp::min:
        return reduce_typed<ReduceOp::min, T>(in, out, g);
      case ReduceOp::prod:
        return reduce_typed<ReduceOp::prod, T>(in, out, g);
    }
  });
}

void arg_reduce(bool is_max, const Tensor& in, const Tensor& values, const Tensor& indices,
                ReduceGeometry g) {
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = typename decltype(tag)::compute;
    const T* x = static_cast<const T*>(in.data_ptr());
    T* v = static_cast<T*>(values.data_ptr());
    int64_t* ix = static_cast<int64_t*>(indices.data_ptr());
    int64_t R = g.reduced, I = g.inner;
    parallel_for(
        g.outer * I, std::max<int64_t>(1, kElementwiseGrain / R), [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) {
            int64_t o = p / I, i = p % I;
            const T* col = x + o * R * I + i;
            C best = C(col[0]);
            int64_t best_r = 0;
            for (int64_t r = 1; r < R && best == best; ++r) {  // stop at the first NaN: it wins
              C c = C(col[r * I]);
              if (c != c || (is_max ? c > best : c < best)) best = c, best_r = r;
            }
            v[p] = T(best);
            ix[p] = best_r;
          }
        });
  });
}

}  // namespace trip::cpu
