import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm, selectBackend, silentLogger } from '@distillery/core';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

function expectClose(actual: ArrayLike<number>, expected: number[], rel = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(rel * Math.abs(expected[i]) + 1e-7);
  }
}

/** Global L2 norm of a set of arrays, in float64. */
const globalNorm = (...arrays: number[][]) => Math.sqrt(arrays.flat().reduce((s, x) => s + x * x, 0));

describe('clipByGlobalNorm', () => {
  // a = [3, 4] (norm 5), b = [[0, 12], [0, 0]] (norm 12): global norm sqrt(25 + 144) = 13.
  const A = [3, 4];
  const B = [0, 12, 0, 0];

  it('the hand-worked global norm is 13', () => {
    expect(globalNorm(A, B)).toBe(13);
  });

  it('clips: maxNorm 6.5 scales every gradient by 6.5 / (13 + 1e-6) ≈ 1/2', () => {
    const grads = { a: tf.tensor(A), b: tf.tensor(B, [2, 2]) };
    const out = clipByGlobalNorm(grads, 6.5);
    const f = 6.5 / (13 + 1e-6);
    expect(out.b.shape).toEqual([2, 2]);
    expectClose(out.a.dataSync(), A.map((x) => x * f));
    expectClose(out.b.dataSync(), B.map((x) => x * f));
    // The clipped set has global norm maxNorm.
    expect(globalNorm(Array.from(out.a.dataSync()), Array.from(out.b.dataSync()))).toBeCloseTo(6.5, 5);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it('does not clip when the norm is below maxNorm: factor min(1, 20 / 13) = 1', () => {
    const grads = { a: tf.tensor(A), b: tf.tensor(B, [2, 2]) };
    const out = clipByGlobalNorm(grads, 20);
    expect(Array.from(out.a.dataSync())).toEqual(A);
    expect(Array.from(out.b.dataSync())).toEqual(B);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it('uses the norm over all tensors together, not each one separately', () => {
    // Each tensor alone (norms 5 and 12) is below maxNorm 12.5, so per-tensor clipping would change
    // nothing; the global norm 13 is above it, so both are scaled by 12.5 / 13.
    const grads = { a: tf.tensor(A), b: tf.tensor(B, [2, 2]) };
    const out = clipByGlobalNorm(grads, 12.5);
    const f = 12.5 / (13 + 1e-6);
    expectClose(out.a.dataSync(), A.map((x) => x * f));
    expectClose(out.b.dataSync(), B.map((x) => x * f));
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it('a mixed-sign case against a float64 reference', () => {
    const x = [-1.5, 2.25, 0.5, -0.75, 3, -2];
    const y = [0.1, -0.2, 0.3];
    const n = globalNorm(x, y);
    const grads = { x: tf.tensor(x, [2, 3]), y: tf.tensor(y) };
    const out = clipByGlobalNorm(grads, 1);
    const f = Math.min(1, 1 / (n + 1e-6));
    expectClose(out.x.dataSync(), x.map((v) => v * f), 1e-5);
    expectClose(out.y.dataSync(), y.map((v) => v * f), 1e-5);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it('all-zero gradients stay zero (no division by zero)', () => {
    const grads = { z: tf.zeros([3]) };
    const out = clipByGlobalNorm(grads, 1);
    expect(Array.from(out.z.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([...Object.values(grads), ...Object.values(out)]);
  });

  it('returns new tensors, leaves the inputs alive, and leaks nothing', () => {
    const grads = { a: tf.tensor(A), b: tf.tensor(B, [2, 2]) };
    const before = tf.memory().numTensors;
    const out = clipByGlobalNorm(grads, 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(out.a).not.toBe(grads.a);
    expect(grads.a.isDisposed).toBe(false);
    expect(Array.from(grads.a.dataSync())).toEqual(A);
    tf.dispose(Object.values(out));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(grads));
  });
});
