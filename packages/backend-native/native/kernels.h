// Compute kernels on raw float buffers. Callers (addon.cc) have already bounds-checked every range.
#pragma once

#include <cstdint>

namespace distillery {

// C[i] = op(A[ai]) · op(B[bi]) for each of `batch` products, row-major, with M×K op(A), K×N op(B).
// a_index/b_index give each output batch's operand batch (null: i * a_stride, i * b_stride).
struct GemmArgs {
  const float* a;
  const float* b;
  float* c;
  int64_t batch, m, n, k;
  bool trans_a, trans_b;
  int64_t a_stride, b_stride;  // elements between operand batches (0: one operand for all)
  const int32_t* a_index;
  const int32_t* b_index;
};
void gemm(const GemmArgs& args);

// out[p, q] = sum over r of x[p, r, q] (mean: divided by r), accumulated in double.
void reduce_sum(const float* x, float* out, int64_t p, int64_t r, int64_t q, bool mean);

enum class Unary { Erf, Exp, Sqrt, Rsqrt, Square, Tanh, Neg, Relu, Log, Sigmoid };
void unary(Unary op, const float* x, float* out, int64_t n);

enum class Binary { Add, Sub, Mul, Div, SquaredDifference, Maximum, Minimum };
// out = a op b with numpy broadcasting over `rank` collapsed dims (out_shape), strides in elements
// (0 where an operand is broadcast along that dim).
void binary(Binary op, const float* a, const float* b, float* out, int rank, const int64_t* out_shape,
            const int64_t* a_strides, const int64_t* b_strides);

enum class Compare { Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual };
// out = (a op b) as 0/1 bytes, broadcasting as binary().
void compare(Compare op, const float* a, const float* b, uint8_t* out, int rank, const int64_t* out_shape,
             const int64_t* a_strides, const int64_t* b_strides);

// out[i] = cond[i] ? t[i] : e[i]
void select(const uint8_t* cond, const float* t, const float* e, float* out, int64_t n);

// out[o, i, j] = x[o, idx[i], j] for idx values in [0, axis_size); out of range rows become 0.
void gather_rows(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t axis_size,
                 int64_t n_idx, int64_t inner);

// out = x with its dims permuted (32-bit elements): out dim d is input dim perm[d]. rank <= 8, dims already
// collapsed by the caller (no size-1 dims, no input-adjacent pairs kept adjacent).
void transpose(const uint32_t* x, uint32_t* out, int rank, const int64_t* shape, const int* perm);

// Returns the OpenBLAS core name (e.g. "Haswell") and build configuration.
const char* blas_core();
const char* blas_config();

}  // namespace distillery
