import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate, sizeOf } from '../internals/wasm.js';

/** tfjs kernel name → op code of native/kernels.h `Unary`. */
export const UNARY_OPS = {
  Erf: 0, Exp: 1, Sqrt: 2, Rsqrt: 3, Square: 4, Tanh: 5, Neg: 6, Relu: 7, Log: 8, Sigmoid: 9,
} as const;

/** An element-wise float32 kernel, split across the addon's threads; other dtypes go to the original kernel. */
export function unaryKernel(addon: NativeAddon, original: KernelFunc, op: number): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') return original(args);
    const { out, heap, outOffset, offsets } = allocate(args.backend as BackendWasm, [...x.shape], 'float32', [x]);
    addon.unary(op, heap, offsets[0], outOffset, sizeOf(x.shape));
    return out;
  };
}
