import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate } from '../internals/wasm.js';

/**
 * The smallest equivalent transpose: size-1 dims dropped, and input dims that stay neighbours in the
 * output merged ([B, S, A, d] by [0, 2, 1, 3] stays 4-D; [B, S, H] by [0, 1, 2] becomes a 1-D copy).
 * Returns [rank, shape..., perm...].
 */
export function collapseTranspose(shape: readonly number[], perm: readonly number[]): Int32Array {
  const kept = shape.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
  const renumber = new Map(kept.map((dim, i) => [dim, i]));
  const p = perm.filter((d) => renumber.has(d)).map((d) => renumber.get(d)!);
  const s = kept.map((dim) => shape[dim]);
  // Groups of output dims whose input dims are consecutive.
  const groups: number[][] = [];
  for (const d of p) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === d) last.push(d); else groups.push([d]);
  }
  if (groups.length === 0) groups.push([]);
  const byInput = [...groups].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  const newShape = byInput.map((g) => g.reduce((n, d) => n * s[d], 1));
  const newPerm = groups.map((g) => byInput.indexOf(g));
  const rank = newShape.length;
  return Int32Array.from([rank, ...newShape, ...newPerm]);
}

/** Transpose of 32-bit tensors (float32, int32) as tiled or row copies split across threads. */
export function transposeKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as NamedAttrMap & { perm: number[] };
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length > 8) return original(args);
    const outShape = perm.map((d) => x.shape[d]);
    const { out, heap, outOffset, offsets } = allocate(args.backend as BackendWasm, outShape, x.dtype, [x]);
    addon.transpose(heap, offsets[0], outOffset, collapseTranspose(x.shape, perm));
    return out;
  };
}

/**
 * Identity as the cpu backend does it: the output shares the input's data (tensors are immutable), where
 * tfjs-wasm copies it. Gradients and tf.clone call it hundreds of times a step.
 */
export function identityKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return original(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}
