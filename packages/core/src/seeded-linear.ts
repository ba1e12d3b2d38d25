import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import type { Rng } from './internals/rng.js';

/** A learned linear map x·W + b, W [in, out], b [out]. */
export interface SeededLinear {
  weight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
}

// tfjs refuses two variables with one name, and a process may build many losses.
let created = 0;

/**
 * A trainable linear map initialised like torch `nn.Linear` (weight and bias both U(−1/√in, 1/√in)),
 * drawn from `rng` so one stage seed always gives the same start.
 */
export function seededLinear(inSize: number, outSize: number, rng: Rng, label: string): SeededLinear {
  for (const [key, value] of [['in', inSize], ['out', outSize]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DistilleryError(`${label}: the ${key} size of a projection must be a positive integer, got ${value}`, 'config');
    }
  }
  const bound = 1 / Math.sqrt(inSize);
  const draw = (n: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);
  const id = ++created;
  const w = tf.tensor2d(draw(inSize * outSize), [inSize, outSize]);
  const b = tf.tensor1d(draw(outSize));
  const weight = tf.variable(w, true, `${label}_${id}/kernel`) as tf.Variable<tf.Rank.R2>;
  const bias = tf.variable(b, true, `${label}_${id}/bias`) as tf.Variable<tf.Rank.R1>;
  tf.dispose([w, b]);
  return { weight, bias };
}
