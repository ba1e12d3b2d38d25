import { DistilleryError } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { strata } from './internals/strata.js';

/** Shares of the examples in each split; they sum to 1. */
export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

/** Options of splitExamples. */
export interface SplitOptions<T> {
  /** Seeds the shuffle; the same seed and input give the same splits on every machine. @default 42 */
  seed?: number;
  /** @default { train: 0.8, validation: 0.1, test: 0.1 } */
  fractions?: SplitFractions;
  /**
   * Split each class separately so that every split keeps the class shares: true uses `label` of
   * each example; a function gives the stratum of an example. @default false
   */
  stratify?: boolean | ((example: T) => string | number | undefined);
}

/** Three disjoint parts of a dataset and the example indices each took (ascending). */
export interface Splits<T> {
  train: T[];
  validation: T[];
  test: T[];
  indices: { train: number[]; validation: number[]; test: number[] };
}

/** The default 80/10/10 split. */
export const DEFAULT_FRACTIONS: Readonly<SplitFractions> = Object.freeze({ train: 0.8, validation: 0.1, test: 0.1 });

/**
 * Splits examples into disjoint train/validation/test parts by a seeded shuffle (core Rng). In each
 * stratum of n examples, validation takes round(n·validation), test round(n·test), train the rest.
 * Each part keeps the examples' original order.
 */
export function splitExamples<T>(examples: readonly T[], options: SplitOptions<T> = {}): Splits<T> {
  const { seed = 42, fractions = DEFAULT_FRACTIONS, stratify = false } = options;
  const parts = ['train', 'validation', 'test'] as const;
  for (const p of parts) {
    const f = fractions?.[p];
    if (typeof f !== 'number' || !(f >= 0 && f <= 1)) {
      throw new DistilleryError(`splitExamples: fractions.${p} must be a number in [0, 1], got ${JSON.stringify(f)}`, 'config');
    }
  }
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > 1e-9) throw new DistilleryError(`splitExamples: fractions must sum to 1, got ${sum}`, 'config');
  if (!Number.isInteger(seed)) throw new DistilleryError(`splitExamples: seed must be an integer, got ${seed}`, 'config');

  const stratumOf = typeof stratify === 'function' ? stratify
    : stratify ? (e: T) => (e as { label?: number }).label : () => 'all';
  const indices = { train: [] as number[], validation: [] as number[], test: [] as number[] };
  // Strata in a fixed order, each with its own stream: adding a class does not reshuffle the others.
  for (const [key, members] of strata(examples, (e) => String(stratumOf(e)))) {
    const order = Rng.derive(seed, 'split', key).shuffle([...members]);
    const n = order.length;
    const nValidation = Math.round(n * fractions.validation);
    const nTest = Math.min(n - nValidation, Math.round(n * fractions.test));
    indices.validation.push(...order.slice(0, nValidation));
    indices.test.push(...order.slice(nValidation, nValidation + nTest));
    indices.train.push(...order.slice(nValidation + nTest));
  }
  for (const p of parts) indices[p].sort((a, b) => a - b);
  const pick = (list: number[]) => list.map((i) => examples[i]);
  return { train: pick(indices.train), validation: pick(indices.validation), test: pick(indices.test), indices };
}
