import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { broadcast_util } from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate } from '../internals/wasm.js';

/** tfjs kernel name → op code of native/kernels.h `Binary`. */
export const BINARY_OPS = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6,
} as const;

const MAX_RANK = 8;

/**
 * The output shape and, per output dim, each operand's stride (0 where it broadcasts), with size-1
 * dims dropped and neighbours that step together merged: [B,S,H] + [H] becomes [B*S, H] with strides
 * [H, 1] and [0, 1]. Returns [rank, shape..., aStrides..., bStrides...], or null above 8 dims.
 */
export function broadcastDims(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): Int32Array | null {
  const strides = (shape: readonly number[]) => {
    const s = new Array<number>(outShape.length).fill(0);
    const offset = outShape.length - shape.length;
    let step = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      s[d + offset] = shape[d] === 1 ? 0 : step;
      step *= shape[d];
    }
    return s;
  };
  const as = strides(aShape), bs = strides(bShape);
  const dims: [number, number, number][] = [];
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const prev = dims[dims.length - 1];
    if (prev && prev[1] === as[d] * outShape[d] && prev[2] === bs[d] * outShape[d]) {
      prev[0] *= outShape[d];
      prev[1] = as[d];
      prev[2] = bs[d];
    } else {
      dims.push([outShape[d], as[d], bs[d]]);
    }
  }
  if (dims.length === 0) dims.push([1, 1, 1]);
  if (dims.length > MAX_RANK) return null;
  const rank = dims.length;
  const packed = new Int32Array(1 + 3 * rank);
  packed[0] = rank;
  dims.forEach(([size, a, b], i) => {
    packed[1 + i] = size;
    packed[1 + rank + i] = a;
    packed[1 + 2 * rank + i] = b;
  });
  return packed;
}

/**
 * A broadcasting kernel over two float32 inputs, writing `outDtype` through `run`; other dtypes (and
 * shapes broadcastDims cannot fold) go to the original kernel.
 */
export function broadcastingKernel(original: KernelFunc, outDtype: 'float32' | 'bool',
  run: (heap: ArrayBuffer, a: number, b: number, out: number, dims: Int32Array) => void): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const outShape = broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const dims = broadcastDims(a.shape, b.shape, outShape);
    if (!dims) return original(args);
    const { out, heap, outOffset, offsets } = allocate(args.backend as BackendWasm, outShape, outDtype, [a, b]);
    run(heap, offsets[0], offsets[1], outOffset, dims);
    return out;
  };
}

/** A broadcasting float32 binary kernel; other dtypes go to the original kernel. */
export function binaryKernel(addon: NativeAddon, original: KernelFunc, op: number): KernelFunc {
  return broadcastingKernel(original, 'float32', (heap, a, b, out, dims) => addon.binary(op, heap, a, b, out, dims));
}
