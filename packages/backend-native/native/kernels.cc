#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "pool.h"

// Declared here rather than taken from <cblas.h>: Debian ships several cblas.h (netlib, OpenBLAS,
// BLIS) behind alternatives, and these are the LP64 OpenBLAS symbols libopenblas0 exports.
extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
char* openblas_get_corename(void);
char* openblas_get_config(void);
}

// Hot loops get one clone per instruction set, picked when the addon loads (GCC/clang ifunc), so the
// binary runs on any x86-64 and uses AVX2/AVX-512 where the processor has them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__APPLE__)
#define DISTILLERY_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define DISTILLERY_CLONES
#endif

namespace distillery {

namespace {
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// Memory-bound loops split across threads only from this many elements on: below it, waking a worker
// (a futex call, and a core taken from whatever else runs) costs more than the second core gives.
constexpr int64_t kGrain = 1 << 16;

// One product, or a slab of one: C (m×n, ldc) = op(A) · op(B).
void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
              static_cast<int>(ldc));
}

// Below this many flops a product runs on the calling thread: waking a worker costs more.
constexpr double kSerialFlops = 1 << 19;
// Split a product no finer than this many rows (or columns): each slab re-packs the other operand.
constexpr int64_t kMinSlab = 32;
}  // namespace

void gemm(const GemmArgs& in) {
  if (in.batch == 0 || in.m == 0 || in.n == 0) return;
  if (in.k == 0) {
    std::memset(in.c, 0, sizeof(float) * in.batch * in.m * in.n);
    return;
  }
  GemmArgs g = in;
  // Products that share B and keep A untransposed are one tall product: [batch*m, k] · [k, n].
  if (g.batch > 1 && !g.a_index && !g.b_index && g.b_stride == 0 && !g.trans_a && g.a_stride == g.m * g.k) {
    g.m *= g.batch;
    g.batch = 1;
  }
  // Row-major leading dimensions (folding only happens untransposed, where lda = k).
  const int64_t lda = std::max<int64_t>(1, g.trans_a ? g.m : g.k);
  const int64_t ldb = std::max<int64_t>(1, g.trans_b ? g.k : g.n);
  const int threads = Pool::instance().threads();
  const double flops = 2.0 * g.batch * g.m * g.n * g.k;
  const bool split_rows = g.m >= g.n;
  const int64_t dim = split_rows ? g.m : g.n;
  int64_t parts = 1;
  if (threads > 1 && flops >= kSerialFlops && g.batch < 2 * threads) {
    parts = (2 * threads + g.batch - 1) / g.batch;
    parts = std::max<int64_t>(1, std::min(parts, dim / kMinSlab));
  }
  struct Ctx {
    const GemmArgs* g;
    int64_t parts, dim, lda, ldb;
    bool split_rows;
  } ctx{&g, parts, dim, lda, ldb, split_rows};
  auto run_chunk = [](void* p, int64_t chunk) {
    const auto& c = *static_cast<Ctx*>(p);
    const GemmArgs& g = *c.g;
    const int64_t bi = chunk / c.parts, pi = chunk % c.parts;
    const int64_t ai = g.a_index ? g.a_index[bi] : bi;
    const int64_t bj = g.b_index ? g.b_index[bi] : bi;
    const float* a = g.a + ai * g.a_stride;
    const float* b = g.b + bj * g.b_stride;
    float* out = g.c + bi * g.m * g.n;
    const int64_t lo = c.dim * pi / c.parts, hi = c.dim * (pi + 1) / c.parts;
    if (hi <= lo) return;
    if (c.split_rows) {
      sgemm(g.trans_a, g.trans_b, hi - lo, g.n, g.k, g.trans_a ? a + lo : a + lo * c.lda, c.lda, b, c.ldb,
            out + lo * g.n, g.n);
    } else {
      sgemm(g.trans_a, g.trans_b, g.m, hi - lo, g.k, a, c.lda, g.trans_b ? b + lo * c.ldb : b + lo, c.ldb,
            out + lo, g.n);
    }
  };
  const int64_t chunks = g.batch * parts;
  if (threads == 1 || flops < kSerialFlops) {
    for (int64_t i = 0; i < chunks; ++i) run_chunk(&ctx, i);
  } else {
    Pool::instance().run(chunks, run_chunk, &ctx);
  }
}

namespace {
DISTILLERY_CLONES
double sum_contiguous(const float* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  }
  double total = 0;
  for (; i < n; ++i) total += x[i];
  for (int j = 0; j < 8; ++j) total += acc[j];
  return total;
}

DISTILLERY_CLONES
void accumulate_rows(const float* x, double* acc, int64_t rows, int64_t stride, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    for (int64_t j = 0; j < width; ++j) acc[j] += row[j];
  }
}
}  // namespace

void reduce_sum(const float* x, float* out, int64_t p, int64_t r, int64_t q, bool mean) {
  const double scale = mean ? 1.0 / static_cast<double>(r) : 1.0;
  if (r == 0) {
    // tfjs's cpu kernels give 0 for the mean of nothing, too.
    std::fill(out, out + p * q, 0.0f);
    return;
  }
  if (q == 1) {
    parallel_for(p, std::max<int64_t>(1, kGrain / r), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) out[i] = static_cast<float>(sum_contiguous(x + i * r, r) * scale);
    });
    return;
  }
  // Column sums over r rows of width q, in blocks of columns so that each chunk's accumulators stay in L1.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (q + kBlock - 1) / kBlock;
  parallel_for(p * blocks, std::max<int64_t>(1, kGrain / (r * std::min(q, kBlock))), [&](int64_t lo, int64_t hi) {
    double acc[kBlock];
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t pi = item / blocks, q0 = (item % blocks) * kBlock, width = std::min(kBlock, q - q0);
      std::fill(acc, acc + width, 0.0);
      accumulate_rows(x + pi * r * q + q0, acc, r, q, width);
      for (int64_t j = 0; j < width; ++j) out[pi * q + q0 + j] = static_cast<float>(acc[j] * scale);
    }
  });
}

namespace {
// exp on floats without a libm call, so loops over it vectorize: 2^n · P(r), |r| <= ln2/2, about 1 ulp;
// subnormal results below e^-87.3, 0 below e^-104, +inf above e^88.72, NaN stays NaN. Written as plain
// selects (no std::min/max, no float→int→float round trip) because GCC vectorizes only that form.
__attribute__((always_inline)) inline float exp_approx(float x) {
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 88.72283f ? 88.72283f : xc;
  xc = x != x ? 0.0f : xc;
  // Round to nearest by adding and subtracting 1.5 · 2^23 (|t| < 2^22 here).
  const float t = xc * 1.44269504088896341f;
  const float fn = (t + 12582912.0f) - 12582912.0f;
  const int32_t n = static_cast<int32_t>(fn);
  float r = xc - fn * 0.693359375f;
  r = r + fn * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  // 2^n as two factors, so that n down to -150 (subnormal results) stays representable; n1 + 127 >= 52.
  const int32_t n1 = n >> 1, n2 = n - n1;
  const int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  float result = y * s1 * s2;
  result = x > 88.72283f ? INFINITY : result;
  result = x != x ? x : result;
  return result;
}

// erf as Abramowitz & Stegun 7.1.26, the formula tfjs's cpu and wasm kernels use (|error| < 1.5e-7).
__attribute__((always_inline)) inline float erf_approx(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float y = 1.0f - poly * exp_approx(-ax * ax);
  return std::copysign(y, x);
}

template <class F>
DISTILLERY_CLONES void map_unary(const float* __restrict x, float* __restrict out, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

template <class F>
void run_unary(const float* x, float* out, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { map_unary(x + lo, out + lo, hi - lo, f); });
}
}  // namespace

void unary(Unary op, const float* x, float* out, int64_t n) {
  switch (op) {
    case Unary::Erf: return run_unary(x, out, n, [](float v) { return erf_approx(v); });
    case Unary::Exp: return run_unary(x, out, n, [](float v) { return exp_approx(v); });
    case Unary::Sqrt: return run_unary(x, out, n, [](float v) { return std::sqrt(v); });
    case Unary::Rsqrt: return run_unary(x, out, n, [](float v) { return 1.0f / std::sqrt(v); });
    case Unary::Square: return run_unary(x, out, n, [](float v) { return v * v; });
    case Unary::Tanh:
      return run_unary(x, out, n, [](float v) {
        // 1 - 2 / (e^{2v} + 1) loses relative precision near 0; there tanh(v) ≈ v (1 - v²/3).
        if (std::fabs(v) < 0.004f) return v * (1.0f - v * v * (1.0f / 3.0f));
        return 1.0f - 2.0f / (exp_approx(2.0f * v) + 1.0f);
      });
    case Unary::Neg: return run_unary(x, out, n, [](float v) { return -v; });
    case Unary::Relu: return run_unary(x, out, n, [](float v) { return v > 0.0f ? v : (v == v ? 0.0f : v); });
    case Unary::Log: return run_unary(x, out, n, [](float v) { return std::log(v); });
    case Unary::Sigmoid: return run_unary(x, out, n, [](float v) { return 1.0f / (1.0f + exp_approx(-v)); });
  }
}

namespace {
template <class O, class F>
DISTILLERY_CLONES void binary_row(const float* __restrict a, int64_t as, const float* __restrict b, int64_t bs,
                                  O* __restrict out, int64_t n, F f) {
  if (as == 1 && bs == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (as == 1 && bs == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (as == 0 && bs == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i * as], b[i * bs]);
  }
}

template <class O, class F>
void run_binary(const float* a, const float* b, O* out, int rank, const int64_t* shape, const int64_t* as,
                const int64_t* bs, F f) {
  const int64_t inner = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d + 1 < rank; ++d) rows *= shape[d];
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t ao = 0, bo = 0, rest = row;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t i = rest % shape[d];
        rest /= shape[d];
        ao += i * as[d];
        bo += i * bs[d];
      }
      binary_row(a + ao, as[rank - 1], b + bo, bs[rank - 1], out + row * inner, inner, f);
    }
  });
}
}  // namespace

void binary(Binary op, const float* a, const float* b, float* out, int rank, const int64_t* shape,
            const int64_t* as, const int64_t* bs) {
  switch (op) {
    case Binary::Add: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) { return x + y; });
    case Binary::Sub: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) { return x - y; });
    case Binary::Mul: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) { return x * y; });
    case Binary::Div: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) { return x / y; });
    case Binary::SquaredDifference:
      return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) { return (x - y) * (x - y); });
    case Binary::Maximum:
      return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) {
        return (x != x || y != y) ? NAN : (x > y ? x : y);
      });
    case Binary::Minimum:
      return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) {
        return (x != x || y != y) ? NAN : (x < y ? x : y);
      });
  }
}

void compare(Compare op, const float* a, const float* b, uint8_t* out, int rank, const int64_t* shape,
             const int64_t* as, const int64_t* bs) {
  switch (op) {
    case Compare::Less: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x < y; });
    case Compare::LessEqual: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x <= y; });
    case Compare::Greater: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x > y; });
    case Compare::GreaterEqual: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x >= y; });
    case Compare::Equal: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x == y; });
    case Compare::NotEqual: return run_binary(a, b, out, rank, shape, as, bs, [](float x, float y) -> uint8_t { return x != y; });
  }
}

namespace {
DISTILLERY_CLONES
void select_range(const uint8_t* __restrict cond, const float* __restrict t, const float* __restrict e,
                  float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = cond[i] ? t[i] : e[i];
}
}  // namespace

void select(const uint8_t* cond, const float* t, const float* e, float* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) { select_range(cond + lo, t + lo, e + lo, out + lo, hi - lo); });
}

void gather_rows(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t axis_size, int64_t n_idx,
                 int64_t inner) {
  parallel_for(outer * n_idx, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t lo, int64_t hi) {
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / n_idx, i = item % n_idx;
      const int64_t row = idx[i];
      float* dst = out + item * inner;
      if (row < 0 || row >= axis_size) {
        std::memset(dst, 0, sizeof(float) * inner);
      } else {
        std::memcpy(dst, x + (o * axis_size + row) * inner, sizeof(float) * inner);
      }
    }
  });
}

namespace {
// A [rows, cols] → [cols, rows] transpose of rows [r0, r1): 64 × 64 tiles of 8 × 8 blocks, each read as
// 8 short rows and written as 8 short rows. Writing a whole column at a time instead touches lines
// `rows` floats apart, which share one cache set when rows is a power of two (10× slower at [2048, 512]).
void transpose_2d(const uint32_t* x, uint32_t* out, int64_t rows, int64_t cols, int64_t r0, int64_t r1) {
  constexpr int64_t kTile = 64, kBlock = 8;
  for (int64_t rb = r0; rb < r1; rb += kTile) {
    const int64_t re = std::min(rb + kTile, r1);
    for (int64_t cb = 0; cb < cols; cb += kTile) {
      const int64_t ce = std::min(cb + kTile, cols);
      for (int64_t r = rb; r < re; r += kBlock) {
        for (int64_t c = cb; c < ce; c += kBlock) {
          if (r + kBlock <= re && c + kBlock <= ce) {
            uint32_t block[kBlock][kBlock];
            for (int i = 0; i < kBlock; ++i)
              for (int j = 0; j < kBlock; ++j) block[j][i] = x[(r + i) * cols + c + j];
            for (int j = 0; j < kBlock; ++j)
              for (int i = 0; i < kBlock; ++i) out[(c + j) * rows + r + i] = block[j][i];
          } else {
            for (int64_t i = r; i < std::min(r + kBlock, re); ++i)
              for (int64_t j = c; j < std::min(c + kBlock, ce); ++j) out[j * rows + i] = x[i * cols + j];
          }
        }
      }
    }
  }
}
}  // namespace

void transpose(const uint32_t* x, uint32_t* out, int rank, const int64_t* shape, const int* perm) {
  int64_t in_strides[8], out_shape[8], strides[8];
  int64_t size = 1;
  for (int d = rank - 1; d >= 0; --d) {
    in_strides[d] = size;
    size *= shape[d];
  }
  for (int d = 0; d < rank; ++d) {
    out_shape[d] = shape[perm[d]];
    strides[d] = in_strides[perm[d]];  // input stride of each output dim
  }
  if (size == 0) return;
  // [.., R, C] → [.., C, R]: batched tiled 2-D transposes.
  if (rank >= 2 && perm[rank - 1] == rank - 2 && perm[rank - 2] == rank - 1) {
    bool leading_identity = true;
    for (int d = 0; d < rank - 2; ++d) leading_identity &= perm[d] == d;
    if (leading_identity) {
      const int64_t rows = shape[rank - 2], cols = shape[rank - 1], batch = size / (rows * cols);
      const int64_t blocks = (rows + 63) / 64;
      parallel_for(batch * blocks, std::max<int64_t>(1, kGrain / (64 * cols)), [&](int64_t lo, int64_t hi) {
        for (int64_t item = lo; item < hi; ++item) {
          const int64_t b = item / blocks, r0 = (item % blocks) * 64;
          transpose_2d(x + b * rows * cols, out + b * rows * cols, rows, cols, r0, std::min(r0 + 64, rows));
        }
      });
      return;
    }
  }
  // General: walk the output row by row; the last output dim reads the input at stride strides[rank-1]
  // (1 when the innermost dim stays innermost: then each row is a copy).
  const int64_t inner = out_shape[rank - 1], step = strides[rank - 1];
  const int64_t rows = size / inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t offset = 0, rest = row;
      for (int d = rank - 2; d >= 0; --d) {
        offset += (rest % out_shape[d]) * strides[d];
        rest /= out_shape[d];
      }
      const uint32_t* src = x + offset;
      uint32_t* dst = out + row * inner;
      if (step == 1) {
        std::memcpy(dst, src, sizeof(uint32_t) * inner);
      } else {
        for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * step];
      }
    }
  });
}

const char* blas_core() { return openblas_get_corename(); }
const char* blas_config() { return openblas_get_config(); }

}  // namespace distillery
