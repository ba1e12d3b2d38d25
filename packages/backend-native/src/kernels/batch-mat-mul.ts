import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { broadcast_util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate, sizeOf } from '../internals/wasm.js';

/** For each output batch (row-major over `outShape`), the index of the operand batch it reads. */
export function broadcastBatchIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const size = sizeOf(outShape);
  const index = new Int32Array(size);
  const offset = outShape.length - shape.length;
  for (let i = 0; i < size; i++) {
    let rest = i, at = 0, stride = 1;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const coord = rest % outShape[d];
      rest = Math.floor(rest / outShape[d]);
      const dim = d >= offset ? shape[d - offset] : 1;
      if (dim !== 1) at += coord * stride;
      stride *= dim;
    }
    index[i] = at;
  }
  return index;
}

/**
 * BatchMatMul through cblas_sgemm on the wasm heap, for every transpose and (full numpy) batch
 * broadcast; K = 0 gives zeros. Non-float32 operands go to the original kernel.
 */
export function batchMatMulKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const backend = args.backend as BackendWasm;
    const { transposeA = false, transposeB = false } = args.attrs as NamedAttrMap & { transposeA?: boolean; transposeB?: boolean };
    const ar = a.shape.length, br = b.shape.length;
    const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
    const ka = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
    const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
    const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
    if (ka !== kb) {
      throw new Error(`Error in matMul: inner shapes (${ka}) and (${kb}) of Tensors with shapes ${a.shape} and ` +
        `${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
    }
    const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
    const outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = sizeOf(outer), aBatches = sizeOf(outerA), bBatches = sizeOf(outerB);
    // Batches line up (or one operand is shared) unless both broadcast against each other: [2,1] × [1,3].
    const plain = (aBatches === 1 || aBatches === batch) && (bBatches === 1 || bBatches === batch);
    const { out, heap, outOffset, offsets } = allocate(backend, [...outer, m, n], 'float32', [a, b]);
    addon.gemm(heap, offsets[0], offsets[1], outOffset, batch, m, n, ka, !!transposeA, !!transposeB,
      aBatches, bBatches, plain ? null : broadcastBatchIndex(outerA, outer), plain ? null : broadcastBatchIndex(outerB, outer));
    return out;
  };
}
