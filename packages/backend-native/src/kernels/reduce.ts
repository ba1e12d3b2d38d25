import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate, sizeOf } from '../internals/wasm.js';

/**
 * Sum or Mean over one contiguous run of axes (x viewed as [p, r, q], reduced over r) without the
 * transpose tfjs-wasm makes first for non-innermost axes (the bias gradients), accumulated in double.
 * Other axis sets and non-float32 inputs go to the original kernel.
 */
export function reduceKernel(addon: NativeAddon, original: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') return original(args);
    const { axis, keepDims } = args.attrs as NamedAttrMap & { axis: number | number[]; keepDims: boolean };
    const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((u, v) => u - v);
    if (axes.length === 0 || axes.some((ax, i) => ax !== axes[0] + i)) return original(args);
    const first = axes[0], last = axes[axes.length - 1];
    const p = sizeOf(x.shape.slice(0, first)), r = sizeOf(x.shape.slice(first, last + 1)), q = sizeOf(x.shape.slice(last + 1));
    const outShape = keepDims
      ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
      : x.shape.filter((_, i) => i < first || i > last);
    const backend = args.backend as BackendWasm;
    const { out, heap, outOffset, offsets } = allocate(backend, outShape, 'float32', [x]);
    addon.reduceSum(heap, offsets[0], outOffset, p, r, q, mean);
    return out;
  };
}
