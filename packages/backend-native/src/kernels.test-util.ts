// Runs one computation on the cpu backend, the plain wasm backend and the wasm backend with native
// kernels, from the same input values, and returns each one's outputs as plain arrays.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core alone registers no gradients (DESIGN.md); tfjs-layers would import this same module.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { describe, it } from 'vitest';
import { disableNativeKernels, enableNativeKernels, nativeKernelsAvailable } from './index.js';

export const native = nativeKernelsAvailable();

/** Set by .ci/run where OpenBLAS is installed: the addon must then be built, and its tests must run, not skip. */
const required = process.env.DISTILLERY_REQUIRE_NATIVE === '1';
if (!native.available && !required) console.warn(`[backend-native tests] skipping native kernel tests: ${native.reason}`);

/**
 * describe() for tests that need the addon: skipped where it is not built, except under
 * DISTILLERY_REQUIRE_NATIVE=1, where the block is one failing test that says why the addon is missing.
 */
export function describeNative(name: string, body: () => void): void {
  if (native.available) describe(name, body);
  else if (!required) describe.skip(name, body);
  else {
    const { reason } = native;
    describe(name, () => {
      it('needs the native addon', () => {
        throw new Error(`DISTILLERY_REQUIRE_NATIVE=1 (OpenBLAS is installed) but the native kernels are not available: ${reason}`);
      });
    });
  }
}

const silent = { info: () => {}, warn: () => {} };

/** Input of a computation: values and shape (and dtype, float32 by default). */
export interface Input { values: ArrayLike<number>; shape: number[]; dtype?: 'float32' | 'int32' }

export type Mode = 'cpu' | 'wasm' | 'native';

/** Runs `fn` on fresh tensors made from `inputs` under each mode; returns the outputs' values and shapes. */
export async function runOn(mode: Mode, inputs: Input[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]):
  Promise<{ values: Float32Array | Int32Array; shape: number[] }[]> {
  await tf.setBackend(mode === 'cpu' ? 'cpu' : 'wasm');
  if (mode === 'native') enableNativeKernels({ logger: silent }); else disableNativeKernels();
  const xs = inputs.map((i) => i.dtype === 'int32'
    ? tf.tensor(Int32Array.from(i.values), i.shape, 'int32')
    : tf.tensor(Float32Array.from(i.values), i.shape, 'float32'));
  try {
    const out = tf.tidy(() => fn(...xs));
    const list = Array.isArray(out) ? out : [out];
    const result = list.map((t) => ({ values: t.dataSync() as Float32Array | Int32Array, shape: [...t.shape] }));
    tf.dispose(list);
    return result;
  } finally {
    tf.dispose(xs);
    disableNativeKernels();
  }
}

/** Deterministic uniform values in [-1, 1) (a small LCG: tests must not depend on Math.random). */
export function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A random float32 input of this shape. */
export const randomInput = (shape: number[], seed: number): Input =>
  ({ values: randomValues(shape.reduce((a, b) => a * b, 1), seed), shape });

/** Largest |a - b| / (atol + rtol·|b|) over all elements (≤ 1 means within tolerance); NaN must match NaN. */
export function worstError(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) {
      if (!(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  }
  return worst;
}

/** Index of the first element where a and b differ (NaN equals NaN), or -1 when they are identical. */
export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}
