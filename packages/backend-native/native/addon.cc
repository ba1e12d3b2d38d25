// N-API surface of the native kernels. Every function takes the wasm heap (an ArrayBuffer) and byte
// offsets into it, checks each range against the heap before touching it, and computes in place:
// no copies in or out. Errors are thrown as JavaScript RangeError/TypeError.
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "kernels.h"
#include "pool.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using distillery::Binary;
using distillery::Unary;

struct Failure {
  const char* code;
  std::string message;
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw Failure{"ERR_INVALID_ARG_TYPE", std::string("expected ") + what};
}

struct Args {
  napi_value argv[16];
  size_t argc = 16;
  napi_env env;
  Args(napi_env e, napi_callback_info info) : env(e) {
    check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "arguments");
  }
  napi_value at(size_t i) const {
    if (i >= argc) throw Failure{"ERR_MISSING_ARGS", "missing argument " + std::to_string(i)};
    return argv[i];
  }
  int64_t integer(size_t i, const char* name) const {
    double v;
    check(env, napi_get_value_double(env, at(i), &v), name);
    if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
      throw Failure{"ERR_OUT_OF_RANGE", std::string(name) + " must be a non-negative integer"};
    }
    return static_cast<int64_t>(v);
  }
  bool boolean(size_t i, const char* name) const {
    bool v;
    check(env, napi_get_value_bool(env, at(i), &v), name);
    return v;
  }
  bool is_null(size_t i) const {
    napi_valuetype t;
    check(env, napi_typeof(env, at(i), &t), "value");
    return t == napi_null || t == napi_undefined;
  }
};

// The wasm heap, and range checks against it.
struct Heap {
  uint8_t* data = nullptr;
  size_t bytes = 0;
  Heap(const Args& args, size_t i) {
    void* p = nullptr;
    bool is_ab = false;
    check(args.env, napi_is_arraybuffer(args.env, args.at(i), &is_ab), "an ArrayBuffer (the wasm heap)");
    if (!is_ab) throw Failure{"ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer (the wasm heap)"};
    check(args.env, napi_get_arraybuffer_info(args.env, args.at(i), &p, &bytes), "an ArrayBuffer (the wasm heap)");
    data = static_cast<uint8_t*>(p);
  }
  // A range [offset, offset + sizeof(T) * count) inside the heap, aligned to sizeof(T).
  template <class T>
  T* range(int64_t offset, int64_t count, const char* name) const {
    constexpr int64_t size = sizeof(T);
    if (offset % size != 0) throw Failure{"ERR_OUT_OF_RANGE", std::string(name) + ": offset not aligned to its elements"};
    // Compare without overflow: count * size may not fit, (bytes - offset) / size does.
    if (count < 0 || offset < 0 || static_cast<uint64_t>(offset) > bytes ||
        static_cast<uint64_t>(count) > (bytes - static_cast<uint64_t>(offset)) / size) {
      throw Failure{"ERR_OUT_OF_RANGE", std::string(name) + ": range [" + std::to_string(offset) + ", +" +
                                            std::to_string(count) + " elements) is outside the heap of " +
                                            std::to_string(bytes) + " bytes"};
    }
    return reinterpret_cast<T*>(data + offset);
  }
};

// An Int32Array argument (not on the heap).
const int32_t* int32_array(const Args& args, size_t i, size_t expected, const char* name) {
  bool is_ta = false;
  check(args.env, napi_is_typedarray(args.env, args.at(i), &is_ta), name);
  if (!is_ta) throw Failure{"ERR_INVALID_ARG_TYPE", std::string(name) + " must be an Int32Array"};
  napi_typedarray_type type;
  size_t length;
  void* data;
  check(args.env, napi_get_typedarray_info(args.env, args.at(i), &type, &length, &data, nullptr, nullptr), name);
  if (type != napi_int32_array || length != expected) {
    throw Failure{"ERR_INVALID_ARG_TYPE", std::string(name) + " must be an Int32Array of " +
                                              std::to_string(expected) + " elements"};
  }
  return static_cast<const int32_t*>(data);
}

template <class F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const Failure& f) {
    napi_throw_range_error(env, f.code, f.message.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

constexpr int64_t kMaxDim = 0x7fffffff;

// gemm(heap, aOff, bOff, cOff, batch, m, n, k, transA, transB, aBatches, bBatches, aIndex|null, bIndex|null)
// Output batch i multiplies A batch aIndex[i] (default: i % aBatches) by B batch bIndex[i] (i % bBatches).
napi_value Gemm(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    Heap heap(args, 0);
    distillery::GemmArgs g{};
    const int64_t a_off = args.integer(1, "aOffset"), b_off = args.integer(2, "bOffset"),
                  c_off = args.integer(3, "cOffset");
    g.batch = args.integer(4, "batch");
    g.m = args.integer(5, "m");
    g.n = args.integer(6, "n");
    g.k = args.integer(7, "k");
    g.trans_a = args.boolean(8, "transposeA");
    g.trans_b = args.boolean(9, "transposeB");
    const int64_t a_batches = args.integer(10, "aBatches"), b_batches = args.integer(11, "bBatches");
    if (g.m > kMaxDim || g.n > kMaxDim || g.k > kMaxDim) throw Failure{"ERR_OUT_OF_RANGE", "matrix too large"};
    if (g.batch > 0 && (a_batches == 0 || b_batches == 0)) throw Failure{"ERR_OUT_OF_RANGE", "operand with no batch"};
    const bool a_indexed = !args.is_null(12), b_indexed = !args.is_null(13);
    if (a_indexed) g.a_index = int32_array(args, 12, static_cast<size_t>(g.batch), "aIndex");
    if (b_indexed) g.b_index = int32_array(args, 13, static_cast<size_t>(g.batch), "bIndex");
    if (!a_indexed && !(a_batches == 1 || a_batches == g.batch)) {
      throw Failure{"ERR_OUT_OF_RANGE", "aBatches must be 1 or batch without aIndex"};
    }
    if (!b_indexed && !(b_batches == 1 || b_batches == g.batch)) {
      throw Failure{"ERR_OUT_OF_RANGE", "bBatches must be 1 or batch without bIndex"};
    }
    for (int64_t i = 0; i < g.batch; ++i) {
      if ((g.a_index && (g.a_index[i] < 0 || g.a_index[i] >= a_batches)) ||
          (g.b_index && (g.b_index[i] < 0 || g.b_index[i] >= b_batches))) {
        throw Failure{"ERR_OUT_OF_RANGE", "batch index outside its operand"};
      }
    }
    g.a_stride = a_batches == 1 && !g.a_index ? 0 : g.m * g.k;
    g.b_stride = b_batches == 1 && !g.b_index ? 0 : g.k * g.n;
    g.a = heap.range<float>(a_off, a_batches * g.m * g.k, "A");
    g.b = heap.range<float>(b_off, b_batches * g.k * g.n, "B");
    g.c = heap.range<float>(c_off, g.batch * g.m * g.n, "C");
    distillery::gemm(g);
    return undefined(env);
  });
}

// reduceSum(heap, xOff, outOff, p, r, q, mean): out[p, q] = Σ_r x[p, r, q] (÷ r when mean).
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    Heap heap(args, 0);
    const int64_t p = args.integer(3, "p"), r = args.integer(4, "r"), q = args.integer(5, "q");
    const bool mean = args.boolean(6, "mean");
    const float* x = heap.range<float>(args.integer(1, "xOffset"), p * r * q, "x");
    float* out = heap.range<float>(args.integer(2, "outOffset"), p * q, "out");
    distillery::reduce_sum(x, out, p, r, q, mean);
    return undefined(env);
  });
}

// unary(op, heap, xOff, outOff, n)
napi_value UnaryOp(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    const int64_t op = args.integer(0, "op");
    if (op > static_cast<int64_t>(Unary::Sigmoid)) throw Failure{"ERR_OUT_OF_RANGE", "unknown unary op"};
    Heap heap(args, 1);
    const int64_t n = args.integer(4, "n");
    const float* x = heap.range<float>(args.integer(2, "xOffset"), n, "x");
    float* out = heap.range<float>(args.integer(3, "outOffset"), n, "out");
    distillery::unary(static_cast<Unary>(op), x, out, n);
    return undefined(env);
  });
}

// dims = Int32Array [rank, shape..., aStrides..., bStrides...] of a broadcasting binary op.
struct Broadcast {
  int rank;
  int64_t shape[8], as[8], bs[8];
  int64_t size = 1, a_extent = 1, b_extent = 1;
  Broadcast(const Args& args, size_t i) {
    bool is_ta = false;
    check(args.env, napi_is_typedarray(args.env, args.at(i), &is_ta), "dims");
    if (!is_ta) throw Failure{"ERR_INVALID_ARG_TYPE", "dims must be an Int32Array"};
    napi_typedarray_type type;
    size_t length;
    void* data;
    check(args.env, napi_get_typedarray_info(args.env, args.at(i), &type, &length, &data, nullptr, nullptr), "dims");
    const int32_t* dims = static_cast<const int32_t*>(data);
    if (type != napi_int32_array || length < 1) throw Failure{"ERR_INVALID_ARG_TYPE", "dims must be an Int32Array"};
    rank = dims[0];
    if (rank < 1 || rank > 8 || length < static_cast<size_t>(1 + 3 * rank)) {
      throw Failure{"ERR_OUT_OF_RANGE", "dims: rank must be 1-8 and dims hold 1 + 3 * rank values"};
    }
    for (int d = 0; d < rank; ++d) {
      shape[d] = dims[1 + d];
      as[d] = dims[1 + rank + d];
      bs[d] = dims[1 + 2 * rank + d];
      if (shape[d] < 0 || as[d] < 0 || bs[d] < 0) throw Failure{"ERR_OUT_OF_RANGE", "dims: negative value"};
      size *= shape[d];
      if (shape[d] > 0) {
        a_extent += (shape[d] - 1) * as[d];
        b_extent += (shape[d] - 1) * bs[d];
      }
    }
  }
};

// binary(op, heap, aOff, bOff, outOff, dims): float32 out
napi_value BinaryOp(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    const int64_t op = args.integer(0, "op");
    if (op > static_cast<int64_t>(Binary::Minimum)) throw Failure{"ERR_OUT_OF_RANGE", "unknown binary op"};
    Heap heap(args, 1);
    Broadcast d(args, 5);
    float* out = heap.range<float>(args.integer(4, "outOffset"), d.size, "out");
    if (d.size == 0) return undefined(env);
    const float* a = heap.range<float>(args.integer(2, "aOffset"), d.a_extent, "a");
    const float* b = heap.range<float>(args.integer(3, "bOffset"), d.b_extent, "b");
    distillery::binary(static_cast<Binary>(op), a, b, out, d.rank, d.shape, d.as, d.bs);
    return undefined(env);
  });
}

// compare(op, heap, aOff, bOff, outOff, dims): bool (one byte) out
napi_value CompareOp(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    const int64_t op = args.integer(0, "op");
    if (op > static_cast<int64_t>(distillery::Compare::NotEqual)) throw Failure{"ERR_OUT_OF_RANGE", "unknown comparison"};
    Heap heap(args, 1);
    Broadcast d(args, 5);
    uint8_t* out = heap.range<uint8_t>(args.integer(4, "outOffset"), d.size, "out");
    if (d.size == 0) return undefined(env);
    const float* a = heap.range<float>(args.integer(2, "aOffset"), d.a_extent, "a");
    const float* b = heap.range<float>(args.integer(3, "bOffset"), d.b_extent, "b");
    distillery::compare(static_cast<distillery::Compare>(op), a, b, out, d.rank, d.shape, d.as, d.bs);
    return undefined(env);
  });
}

// select(heap, condOff, tOff, eOff, outOff, n)
napi_value SelectOp(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    Heap heap(args, 0);
    const int64_t n = args.integer(5, "n");
    const uint8_t* cond = heap.range<uint8_t>(args.integer(1, "conditionOffset"), n, "condition");
    const float* t = heap.range<float>(args.integer(2, "tOffset"), n, "t");
    const float* e = heap.range<float>(args.integer(3, "eOffset"), n, "e");
    float* out = heap.range<float>(args.integer(4, "outOffset"), n, "out");
    distillery::select(cond, t, e, out, n);
    return undefined(env);
  });
}

// gather(heap, xOff, idxOff, outOff, outer, axisSize, nIdx, inner) → how many indices were out of range
napi_value Gather(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    Heap heap(args, 0);
    const int64_t outer = args.integer(4, "outer"), axis = args.integer(5, "axisSize"),
                  n_idx = args.integer(6, "nIndices"), inner = args.integer(7, "inner");
    const float* x = heap.range<float>(args.integer(1, "xOffset"), outer * axis * inner, "x");
    const int32_t* idx = heap.range<int32_t>(args.integer(2, "indicesOffset"), n_idx, "indices");
    float* out = heap.range<float>(args.integer(3, "outOffset"), outer * n_idx * inner, "out");
    int64_t bad = 0;
    for (int64_t i = 0; i < n_idx; ++i) bad += (idx[i] < 0 || idx[i] >= axis) ? 1 : 0;
    distillery::gather_rows(x, idx, out, outer, axis, n_idx, inner);
    napi_value result;
    napi_create_int64(env, bad, &result);
    return result;
  });
}

// transpose(heap, xOff, outOff, dims): dims = Int32Array [rank, shape..., perm...], 32-bit elements
napi_value Transpose(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    Heap heap(args, 0);
    bool is_ta = false;
    check(env, napi_is_typedarray(env, args.at(3), &is_ta), "dims");
    if (!is_ta) throw Failure{"ERR_INVALID_ARG_TYPE", "dims must be an Int32Array"};
    napi_typedarray_type type;
    size_t length;
    void* data;
    check(env, napi_get_typedarray_info(env, args.at(3), &type, &length, &data, nullptr, nullptr), "dims");
    const int32_t* dims = static_cast<const int32_t*>(data);
    if (type != napi_int32_array || length < 1) throw Failure{"ERR_INVALID_ARG_TYPE", "dims must be an Int32Array"};
    const int rank = dims[0];
    if (rank < 1 || rank > 8 || length < static_cast<size_t>(1 + 2 * rank)) {
      throw Failure{"ERR_OUT_OF_RANGE", "dims: rank must be 1-8 and dims hold 1 + 2 * rank values"};
    }
    int64_t shape[8];
    int perm[8];
    bool seen[8] = {false, false, false, false, false, false, false, false};
    int64_t size = 1;
    for (int d = 0; d < rank; ++d) {
      shape[d] = dims[1 + d];
      perm[d] = dims[1 + rank + d];
      if (shape[d] < 0) throw Failure{"ERR_OUT_OF_RANGE", "dims: negative size"};
      if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) throw Failure{"ERR_OUT_OF_RANGE", "dims: perm is not a permutation"};
      seen[perm[d]] = true;
      size *= shape[d];
    }
    const uint32_t* x = heap.range<uint32_t>(args.integer(1, "xOffset"), size, "x");
    uint32_t* out = heap.range<uint32_t>(args.integer(2, "outOffset"), size, "out");
    distillery::transpose(x, out, rank, shape, perm);
    return undefined(env);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info);
    const int64_t n = args.integer(0, "threads");
    if (n < 1 || n > 256) throw Failure{"ERR_OUT_OF_RANGE", "threads must be 1-256"};
    distillery::Pool::instance().resize(static_cast<int>(n));
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    napi_value obj, v;
    napi_create_object(env, &obj);
    napi_create_int32(env, distillery::Pool::instance().threads(), &v);
    napi_set_named_property(env, obj, "threads", v);
    napi_create_string_utf8(env, distillery::blas_core(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "blasCore", v);
    napi_create_string_utf8(env, distillery::blas_config(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, "blasConfig", v);
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  // OpenBLAS runs on one thread per call; the addon's own pool splits work across the cores (OpenBLAS's
  // threads busy-wait between calls and lose on the small batched products of attention).
  openblas_set_num_threads(1);
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, UnaryOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, BinaryOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compare", nullptr, CompareOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"select", nullptr, SelectOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gather", nullptr, Gather, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
