import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../internals/addon.js';
import { allocate, sizeOf } from '../internals/wasm.js';

/**
 * GatherV2 of float32 rows by int32 indices (batchDims 0) as row copies split across threads. An index
 * outside the axis fails as on the cpu backend; tfjs-wasm reads past the tensor instead.
 */
export function gatherKernel(addon: NativeAddon, original: KernelFunc): KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims = 0 } = args.attrs as NamedAttrMap & { axis: number; batchDims?: number };
    if (x.dtype !== 'float32' || indices.dtype !== 'int32' || batchDims !== 0) return original(args);
    const ax = util.parseAxisParam(axis, x.shape)[0];
    const outer = sizeOf(x.shape.slice(0, ax)), axisSize = x.shape[ax], inner = sizeOf(x.shape.slice(ax + 1));
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const backend = args.backend as BackendWasm;
    const { out, heap, outOffset, offsets } = allocate(backend, outShape, 'float32', [x, indices]);
    const bad = addon.gather(heap, offsets[0], offsets[1], outOffset, outer, axisSize, sizeOf(indices.shape), inner);
    if (bad > 0) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: ${bad} index value(s) not in [0, ${axisSize - 1}]`);
    }
    return out;
  };
}
