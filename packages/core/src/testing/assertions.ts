// Small assertions shared by the packages' tests. They throw plain Errors rather than use a test runner's
// `expect`, so this entry point needs nothing beyond what @distillery/core already depends on.
import * as tf from '@tensorflow/tfjs-core';
import type { DistillationLoss, LossContext } from '../types.js';

/** Captures the error a function throws; throws itself when the function returns normally. */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

/** Captures the error a function throws, and asserts the live tensor count is back where it was before the call. */
export function thrownWithoutLeaks(f: () => unknown): Error {
  const before = tf.memory().numTensors;
  const error = thrown(f);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`the throwing call left ${after - before} tensor(s) behind: ${after} live, ${before} before`);
  return error;
}

/** Asserts |actual − expected| ≤ 1e-5 · |expected| + `floor` (a floor for values that are meant to be ~0). */
export function expectRel(actual: number, expected: number, what = '', floor = 1e-9): void {
  if (!(Math.abs(actual - expected) <= 1e-5 * Math.abs(expected) + floor)) {
    throw new Error(`${what}: got ${actual}, expected ${expected}`);
  }
}

/** Asserts |actual − expected| ≤ 1e-5 · max(1, |expected|): relative above 1, absolute below. */
export function expectClose(actual: number, expected: number, what = ''): void {
  if (!(Math.abs(actual - expected) <= 1e-5 * Math.max(1, Math.abs(expected)))) {
    throw new Error(`${what}: got ${actual}, expected ${expected}`);
  }
}

/** Runs `loss.compute(ctx)` once; asserts it allocates and that freeing its total and terms leaves no tensor behind. */
export function expectComputeLeavesNoTensors(loss: Pick<DistillationLoss, 'compute'>, ctx: LossContext): void {
  const before = tf.memory().numTensors;
  const { total, terms } = loss.compute(ctx);
  const during = tf.memory().numTensors;
  if (!(during > before)) throw new Error(`expected compute to allocate tensors: ${during} live after, ${before} before`);
  tf.dispose([total, ...Object.values(terms)]);
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`compute left ${after - before} tensor(s) behind: ${after} live, ${before} before`);
}
