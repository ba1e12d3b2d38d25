import { DistilleryError, type Batch, type BatchSource } from '@distillery/core';
import { Rng } from '@distillery/core/kit';

/** Options of lengthBuckets. */
export interface LengthBucketOptions {
  /** Examples per batch. */
  batchSize: number;
  /** Batches per pool: examples are shuffled, cut into pools of poolBatches·batchSize, sorted by length inside a pool. @default 50 */
  poolBatches?: number;
  /** @default 42 */
  seed?: number;
}

/**
 * Groups example indices into batches of similar length, so that padding to the longest row wastes
 * little: shuffle (seeded), sort by length inside pools of `poolBatches` batches, cut into batches,
 * shuffle the batches. Every index appears exactly once; only the last batch may be smaller.
 */
export function lengthBuckets(lengths: readonly number[], { batchSize, poolBatches = 50, seed = 42 }: LengthBucketOptions): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DistilleryError(`lengthBuckets: batchSize must be a positive integer, got ${batchSize}`, 'config');
  if (!Number.isInteger(poolBatches) || poolBatches < 1) throw new DistilleryError(`lengthBuckets: poolBatches must be a positive integer, got ${poolBatches}`, 'config');
  const rng = Rng.derive(seed, 'buckets');
  const order = rng.shuffle(Array.from({ length: lengths.length }, (_, i) => i));
  const pool = batchSize * poolBatches;
  const sorted: number[] = [];
  for (let start = 0; start < order.length; start += pool) {
    // Stable sort: ties keep their shuffled order.
    sorted.push(...order.slice(start, start + pool).sort((a, b) => lengths[a] - lengths[b]));
  }
  const batches: number[][] = [];
  for (let start = 0; start < sorted.length; start += batchSize) batches.push(sorted.slice(start, start + batchSize));
  // The last, possibly short batch stays last; the full ones are shuffled.
  const last = batches.length > 0 && batches[batches.length - 1].length < batchSize ? batches.pop() : undefined;
  rng.shuffle(batches);
  if (last) batches.push(last);
  return batches;
}

/**
 * A BatchSource whose examples are whole batches of `source`: item k is `groups[k]`, and
 * batch([k, …]) concatenates the groups asked for. With the Distiller's batchSize 1, each step trains
 * on one length bucket, in an order the Distiller shuffles each epoch (the buckets themselves stay
 * fixed). Do not use it for evaluation sources: evaluate() would merge many groups into a batch.
 */
export function groupedSource(source: BatchSource, groups: readonly (readonly number[])[]): BatchSource {
  groups.forEach((g, k) => {
    if (!Array.isArray(g) || g.length === 0) throw new DistilleryError(`groupedSource: group ${k} is empty`, 'config');
    for (const i of g) {
      if (!Number.isInteger(i) || i < 0 || i >= source.size) throw new DistilleryError(`groupedSource: group ${k} holds index ${i}, outside [0, ${source.size})`, 'config');
    }
  });
  return {
    size: groups.length,
    batch(indices): Batch {
      return source.batch(indices.flatMap((k) => {
        const group = groups[k];
        if (!group) throw new DistilleryError(`groupedSource: no group ${k} (there are ${groups.length})`, 'config');
        return group;
      }));
    },
  };
}
