import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Allocates an output on the wasm heap, then returns the heap and the byte offsets of the output and
 * the given inputs. Every allocation may grow (and so detach) the heap: an input living on another
 * backend is moved onto this one when its offset is first asked for, then the output is made, and
 * only then is the heap's buffer read.
 */
export function allocate(backend: BackendWasm, shape: number[], dtype: DataType, inputs: TensorInfo[]):
  { out: TensorInfo; heap: ArrayBuffer; outOffset: number; offsets: number[] } {
  const offsets = inputs.map((t) => offsetOf(backend, t));
  const out = backend.makeOutput(shape, dtype);
  // HEAPU8 comes from Emscripten's module type, which tfjs-backend-wasm's typings do not carry.
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
  return { out, heap, outOffset: offsetOf(backend, out), offsets };
}

/** The byte offset of a tensor's data on the wasm heap. */
export function offsetOf(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data || data.memoryOffset == null) throw new Error(`@distillery/backend-native: tensor ${t.dataId} is not on the wasm heap`);
  return data.memoryOffset;
}

/** The number of elements of a shape. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
