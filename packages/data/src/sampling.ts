import { DistilleryError } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { allocate, strata } from './internals/strata.js';

/** Options of sampleExamples. */
export interface SampleOptions<T> {
  /** How many items to keep; all of them when there are no more. */
  limit: number;
  /** Seeds the draw; the same seed and items give the same subset on every machine. @default 42 */
  seed?: number;
  /**
   * Draw within each class so the subset keeps the class shares (largest-remainder rounding): true
   * uses `label` of each item (hidden labels, -100, form a class of their own); a function gives the
   * stratum of an item. @default false
   */
  stratify?: boolean | ((item: T, index: number) => string | number);
}

/**
 * A seeded random subset of `limit` items, in their original order. Unstratified, it is the first
 * `limit` indices of one shuffle with `new Rng(seed)` (the CLI's `limit` draw since its first version).
 */
export function sampleExamples<T>(items: readonly T[], options: SampleOptions<T>): T[] {
  const { limit, seed = 42, stratify = false } = options;
  if (!Number.isInteger(limit) || limit < 0) throw new DistilleryError(`sampleExamples: limit must be an integer >= 0, got ${JSON.stringify(limit)}`, 'config');
  if (!Number.isInteger(seed)) throw new DistilleryError(`sampleExamples: seed must be an integer, got ${JSON.stringify(seed)}`, 'config');
  if (limit >= items.length) return [...items];
  let picked: number[];
  if (!stratify) {
    picked = new Rng(seed).shuffle(Array.from({ length: items.length }, (_, i) => i)).slice(0, limit);
  } else {
    const keyOf = typeof stratify === 'function' ? stratify : (item: T, i: number) => {
      const label = (item as { label?: number }).label;
      if (label === undefined) throw new DistilleryError(`sampleExamples: stratify needs labels, but example ${i} has none`, 'config');
      return label;
    };
    const groups = strata(items, (item, i) => String(keyOf(item, i)));
    const shares = allocate(groups.map(([, members]) => members.length), limit);
    picked = groups.flatMap(([key, members], g) => Rng.derive(seed, 'limit', key).shuffle([...members]).slice(0, shares[g]));
  }
  return picked.sort((a, b) => a - b).map((i) => items[i]);
}
