import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate, sizeOf } from '../internals/wasm.js';
import { broadcastingKernel } from './binary.js';

/** tfjs kernel name → op code of native/kernels.h `Compare`. */
export const COMPARE_OPS = { Less: 0, LessEqual: 1, Greater: 2, GreaterEqual: 3, Equal: 4, NotEqual: 5 } as const;

/** A broadcasting float32 comparison giving a bool tensor; other dtypes go to the original kernel. */
export function compareKernel(addon: NativeAddon, original: KernelFunc, op: number): KernelFunc {
  return broadcastingKernel(original, 'bool', (heap, a, b, out, dims) => addon.compare(op, heap, a, b, out, dims));
}

/** Select (tf.where) of float32 values by a bool condition of the same shape; anything else goes to the original kernel. */
export function selectKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
    const n = sizeOf(t.shape);
    if (condition.dtype !== 'bool' || t.dtype !== 'float32' || e.dtype !== 'float32'
      || sizeOf(condition.shape) !== n || sizeOf(e.shape) !== n) return original(args);
    const { out, heap, outOffset, offsets } = allocate(args.backend as BackendWasm, [...t.shape], 'float32', [condition, t, e]);
    addon.select(heap, offsets[0], offsets[1], offsets[2], outOffset, n);
    return out;
  };
}
