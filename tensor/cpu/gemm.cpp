// The GEMM driver: picks the micro-kernels for this CPU, splits the work over OpenMP threads and
// runs the cache-blocked loops of GotoBLAS / BLIS around the micro-kernel:
//   for jc (nc columns of C)              B block kc x nc is packed once per (jc, pc)
//     for pc (kc of the sum)              and read by every row block
//       for ic (mc rows)                  A block mc x kc is packed and stays in L2
//         for jr (nr columns)             B micro-panel kc x nr stays in L1
//           for ir (mr rows)              micro-kernel: mr x nr tile of C in registers
// Small operands skip the copy: row-major A when C has few column tiles, and row-major B with
// short rows, are read where they lie (read_a_in_place, read_b_in_place).
// Threads: a batch of small matrices is shared out whole matrices at a time; a large matrix is
// cut into one block of C per thread. Never is the sum over k split between threads.
// Determinism: every element is summed in the same kc blocks by the same arithmetic whatever its
// tile, thread or path (gemm_kernels.h), so results do not depend on the thread count.
#include "tensor/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <utility>

#include "tensor/cpu/gemm_kernels.h"

namespace trip::cpu {
namespace {

using gemm_detail::KernelSet;
using gemm_detail::Tile;

std::atomic<GemmKernel> g_forced{GemmKernel::automatic};

bool cpu_has(GemmKernel k) {
#if defined(__x86_64__) || defined(__i386__)
  static const bool avx512 = __builtin_cpu_supports("avx512f") &&
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (k == GemmKernel::avx512) return avx512;
  if (k == GemmKernel::avx2) return avx2;
#endif
  return k == GemmKernel::generic;
}

GemmKernel resolve(GemmKernel want) {
  if (want == GemmKernel::automatic) want = GemmKernel::avx512;
  if (want == GemmKernel::avx512 && !cpu_has(GemmKernel::avx512)) want = GemmKernel::avx2;
  if (want == GemmKernel::avx2 && !cpu_has(GemmKernel::avx2)) want = GemmKernel::generic;
  return want;
}

template <typename T>
KernelSet<T> kernels_for(GemmKernel k) {
  using namespace gemm_detail;
  KernelSet<T> set;
  if constexpr (sizeof(T) == 4) {
    if (k == GemmKernel::avx512) set = avx512_kernels_f32();
    if (k == GemmKernel::avx2) set = avx2_kernels_f32();
    if (set.wide.packed_a[2] == nullptr) set = generic_kernels_f32();
  } else {
    if (k == GemmKernel::avx512) set = avx512_kernels_f64();
    if (k == GemmKernel::avx2) set = avx2_kernels_f64();
    if (set.wide.packed_a[2] == nullptr) set = generic_kernels_f64();
  }
  return set;
}

// Packing buffers: one pair per thread, 64-byte aligned (full cache lines, aligned vector loads),
// grown on demand and kept for the next call so steady-state calls allocate nothing.
struct AlignedBuffer {
  void* data = nullptr;
  size_t bytes = 0;
  template <typename T>
  T* get(int64_t elements) {
    const size_t need = sizeof(T) * size_t(elements);
    if (need > bytes) {
      ::operator delete(data, std::align_val_t(64));
      data = nullptr;  // stays valid (empty) if the allocation below throws
      bytes = 0;
      data = ::operator new(need, std::align_val_t(64));
      bytes = need;
    }
    return static_cast<T*>(data);
  }
  ~AlignedBuffer() { ::operator delete(data, std::align_val_t(64)); }
};
thread_local AlignedBuffer t_pack_a, t_pack_b;

template <typename T>
struct Problem {
  int64_t M, N, K;
  const T* a;
  int64_t a_rs, a_cs;
  const T* b;
  int64_t b_rs, b_cs;
  T* c;
  int64_t c_rs;
  bool accumulate;
};

// Splits n into ceil(n / max_block) near-equal blocks, each a multiple of `unit` (the last may be
// shorter): equal blocks avoid a thin, slow last block.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t unit) {
  if (n <= max_block) return n;  // one block (spares small problems the divisions)
  const int64_t blocks = (n + max_block - 1) / max_block;
  const int64_t size = (n + blocks - 1) / blocks;
  return (size + unit - 1) / unit * unit;
}

// The kc split depends on K only (never on the thread's region): it fixes the summation order.
int64_t k_block(int64_t K, int64_t kc_max) { return balanced_block(K, kc_max, 1); }

// The narrow tile when the wide one would mostly compute padding columns (the narrow tile runs
// at about 80% of the wide one's speed: fewer accumulators, more loads per FMA).
template <typename T>
const Tile<T>& pick_tile(const KernelSet<T>& ks, int64_t N) {
  if (ks.narrow.packed_a[2] == nullptr) return ks.wide;
  auto padded = [N](int64_t nr) { return double((N + nr - 1) / nr * nr); };
  return padded(ks.narrow.nr) < 0.8 * padded(ks.wide.nr) ? ks.narrow : ks.wide;
}

// Whether the kernels read A in place instead of packing it. Packing A costs about one transposed
// copy per element and pays off when the packed block is reused by many column tiles; with few
// column tiles (narrow C, typical of projections and attention) the copy rivals the arithmetic.
template <typename T>
bool read_a_in_place(const Problem<T>& p, int64_t cols, const Tile<T>& tile) {
  return p.a_cs == 1 && (cols + tile.nr - 1) / tile.nr <= 12;
}

// Whether the kernels read B in place: row-major B whose rows are short enough that a kc x nr
// panel spans few pages (no TLB misses, no cache-set conflicts between its rows).
template <typename T>
bool read_b_in_place(const Problem<T>& p, const Tile<T>& tile) {
  return tile.b_any_width && p.b_cs == 1 && p.b_rs * int64_t(sizeof(T)) <= 2048;
}

template <typename T>
void pack(const KernelSet<T>& ks, int width, int64_t count, int64_t kc, const T* src, int64_t s_w,
          int64_t s_k, T* dst) {
  if (s_k == 1 && ks.pack_transposed && ks.pack_transposed(width, count, kc, src, s_w, dst)) return;
  gemm_detail::pack_panels(width, count, kc, src, s_w, s_k, dst);
}

// C rows [m0, m1) x columns [n0, n1) on the calling thread.
template <typename T>
void gemm_region(const Problem<T>& p, const KernelSet<T>& ks, const Tile<T>& tile, int64_t m0,
                 int64_t m1, int64_t n0, int64_t n1) {
  const int64_t mr = tile.mr, nr = tile.nr;
  const int64_t kc_max = k_block(p.K, ks.kc);
  const int64_t mc_max = balanced_block(m1 - m0, ks.mc, mr);
  const int64_t nc_max = balanced_block(n1 - n0, ks.nc, nr);
  const bool a_in_place = read_a_in_place(p, n1 - n0, tile);
  const bool b_in_place = read_b_in_place(p, tile);
  auto round_up = [](int64_t n, int64_t unit) { return (n + unit - 1) / unit * unit; };
  T* pack_a = a_in_place ? nullptr : t_pack_a.get<T>(kc_max * round_up(mc_max, mr));
  T* pack_b = b_in_place ? nullptr : t_pack_b.get<T>(kc_max * round_up(nc_max, nr));
  const int64_t b_rs = b_in_place ? p.b_rs : nr;  // k stride of the B panels the kernels read
  for (int64_t jc = n0; jc < n1; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n1 - jc);
    for (int64_t pc = 0; pc < p.K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, p.K - pc);
      const bool add = p.accumulate || pc > 0;
      const T* b_block = p.b + pc * p.b_rs + jc * p.b_cs;
      if (!b_in_place) pack(ks, nr, nc, kc, b_block, p.b_cs, p.b_rs, pack_b);
      for (int64_t ic = m0; ic < m1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m1 - ic);
        const T* a_block = p.a + ic * p.a_rs + pc * p.a_cs;
        if (!a_in_place) pack(ks, mr, mc, kc, a_block, p.a_rs, p.a_cs, pack_a);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int n = static_cast<int>(std::min(nr, nc - jr));
          const T* b_panel = b_in_place ? b_block + jr : pack_b + jr * kc;
          T* c_tile = p.c + ic * p.c_rs + jc + jr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int m = static_cast<int>(std::min(mr, mc - ir));
            T* c_ir = c_tile + ir * p.c_rs;
            const int rc = tile.rows_class(m);
            if (a_in_place)
              tile.in_place_a[rc](kc, a_block + ir * p.a_rs, p.a_rs, b_panel, b_rs, c_ir, p.c_rs, m,
                                  n, add);
            else
              tile.packed_a[rc](kc, pack_a + ir * kc, 0, b_panel, b_rs, c_ir, p.c_rs, m, n, add);
          }
        }
      }
    }
  }
}

// Splits one matrix over `threads` as a tm x tn grid of regions (tm * tn == threads) that keeps
// the packing each thread repeats (its rows of A and columns of B) smallest; regions are whole
// micro-tiles so every thread's tiles are full where the matrix allows.
template <typename T>
void gemm_parallel_matrix(const Problem<T>& p, const KernelSet<T>& ks, const Tile<T>& tile,
                          int threads) {
  const int64_t mr = tile.mr, nr = tile.nr;
  const int64_t m_tiles = (p.M + mr - 1) / mr, n_tiles = (p.N + nr - 1) / nr;
  int tm = 1;
  double best = 1e300;
  for (int d = threads; d >= 1; --d) {  // on a tie prefer splitting M: B packs by plain copies
    if (threads % d != 0 || d > m_tiles || threads / d > n_tiles) continue;
    const double cost = double(p.M) / d + double(p.N) / (threads / d);
    if (cost < best) best = cost, tm = d;
  }
  const int tn = threads / tm;
#pragma omp parallel num_threads(tm* tn)
  {
    const int t = omp_get_thread_num(), ti = t / tn, tj = t % tn;
    const int64_t m0 = std::min(p.M, m_tiles * ti / tm * mr);
    const int64_t m1 = std::min(p.M, m_tiles * (ti + 1) / tm * mr);
    const int64_t n0 = std::min(p.N, n_tiles * tj / tn * nr);
    const int64_t n1 = std::min(p.N, n_tiles * (tj + 1) / tn * nr);
    if (m0 < m1 && n0 < n1) gemm_region(p, ks, tile, m0, m1, n0, n1);
  }
}

// Requests an operand of the next matrix of a batch into L2 while this one is computed: small
// matrices are over too soon for the hardware prefetchers to find their rows. Only operands with
// contiguous rows or columns, and only small ones (large ones are streamed well anyway).
template <typename T>
void prefetch_operand(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs != 1) std::swap(rows, cols), std::swap(rs, cs);
  if (cs != 1 || rows * cols * int64_t(sizeof(T)) > (64 << 10)) return;
  const int64_t lines = (cols * int64_t(sizeof(T)) + 63) / 64;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t l = 0; l <= lines; ++l)  // <=: an unaligned row touches one more line
      __builtin_prefetch(reinterpret_cast<const char*>(p + i * rs) + 64 * l, 0, 2);
}

// One thread's share of a batch, whole matrices at a time.
template <typename T, typename MatrixFn>
void gemm_matrices(MatrixFn matrix, int64_t q0, int64_t q1, const KernelSet<T>& ks,
                   const Tile<T>& tile) {
  for (int64_t q = q0; q < q1; ++q) {
    const Problem<T> p = matrix(q);
    if (q + 1 < q1) {
      const Problem<T> next = matrix(q + 1);
      if (next.a != p.a) prefetch_operand(next.a, p.M, p.K, p.a_rs, p.a_cs);
      if (next.b != p.b) prefetch_operand(next.b, p.K, p.N, p.b_rs, p.b_cs);
    }
    gemm_region(p, ks, tile, 0, p.M, 0, p.N);
  }
}

template <typename T>
void zero_or_keep(int64_t batch, int64_t M, int64_t N, T* c, int64_t c_bs, int64_t c_rs,
                  bool accumulate) {
  if (accumulate) return;  // C += A @ B with an empty sum
  for (int64_t q = 0; q < batch; ++q)
    for (int64_t i = 0; i < M; ++i) std::fill_n(c + q * c_bs + i * c_rs, N, T(0));
}

template <typename T>
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, const T* a, int64_t a_bs, int64_t a_rs,
          int64_t a_cs, const T* b, int64_t b_bs, int64_t b_rs, int64_t b_cs, T* c, int64_t c_bs,
          int64_t c_rs, bool accumulate) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (K <= 0) return zero_or_keep(batch, M, N, c, c_bs, c_rs, accumulate);
  const KernelSet<T> ks = kernels_for<T>(active_gemm_kernel());
  const Tile<T>& tile = pick_tile(ks, N);
  const Problem<T> base{M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, accumulate};
  auto matrix = [&](int64_t q) {
    Problem<T> p = base;
    p.a += q * a_bs;
    p.b += q * b_bs;
    p.c += q * c_bs;
    return p;
  };
  // A parallel region costs a few microseconds: below ~1 MFLOP per thread it is not worth it,
  // and inside an enclosing parallel region the caller's threads are already busy.
  const double flops_per_matrix = 2.0 * M * N * K;
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  threads = int(std::min<double>(threads, std::max(1.0, flops_per_matrix * batch / 1e6)));
  if (threads <= 1) return gemm_matrices(matrix, 0, batch, ks, tile);
  // Whole matrices per thread when the batch divides evenly or is large, or the matrices are
  // too small to split well; otherwise split each matrix over all threads.
  const bool by_matrix =
      batch >= threads && (batch % threads == 0 || batch >= 4 * threads || flops_per_matrix < 4e6);
  if (by_matrix) {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      gemm_matrices(matrix, batch * t / nt, batch * (t + 1) / nt, ks, tile);
    }
    return;
  }
  for (int64_t q = 0; q < batch; ++q) gemm_parallel_matrix(matrix(q), ks, tile, threads);
}

}  // namespace

void set_gemm_kernel(GemmKernel kernel) { g_forced.store(kernel); }

GemmKernel active_gemm_kernel() { return resolve(g_forced.load()); }

void gemm_f32(int64_t batch, int64_t M, int64_t N, int64_t K, const float* a, int64_t a_bs,
              int64_t a_rs, int64_t a_cs, const float* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
              float* c, int64_t c_bs, int64_t c_rs, bool accumulate) {
  gemm(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, accumulate);
}

void gemm_f64(int64_t batch, int64_t M, int64_t N, int64_t K, const double* a, int64_t a_bs,
              int64_t a_rs, int64_t a_cs, const double* b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
              double* c, int64_t c_bs, int64_t c_rs, bool accumulate) {
  gemm(batch, M, N, K, a, a_bs, a_rs, a_cs, b, b_bs, b_rs, b_cs, c, c_bs, c_rs, accumulate);
}

}  // namespace trip::cpu
