import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeBatch, selectBackend, silentLogger } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { groupedSource, lengthBuckets } from './bucketing.js';
import { textBatchSource } from './text-batch-source.js';
import { WordEncoder } from './word-encoder.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

const rng = new Rng(5);
const lengths = Array.from({ length: 1000 }, () => 3 + rng.int(120));

describe('lengthBuckets', () => {
  it('uses every index once, in batches of similar length', () => {
    const batches = lengthBuckets(lengths, { batchSize: 16, seed: 1 });
    const all = batches.flat();
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(batches.slice(0, -1).every((b) => b.length === 16)).toBe(true);
    expect(batches.at(-1)!.length).toBe(1000 % 16);
    // Padding to the longest row wastes far less than with random batches.
    const waste = (groups: number[][]) => groups.reduce((sum, g) => sum + g.length * Math.max(...g.map((i) => lengths[i])) - g.reduce((s, i) => s + lengths[i], 0), 0);
    const shuffled = new Rng(2).shuffle(Array.from({ length: 1000 }, (_, i) => i));
    const random = Array.from({ length: Math.ceil(1000 / 16) }, (_, k) => shuffled.slice(k * 16, (k + 1) * 16));
    expect(waste(batches)).toBeLessThan(waste(random) / 5);
  });

  it('is deterministic by seed and shuffles batch order', () => {
    expect(lengthBuckets(lengths, { batchSize: 8, seed: 3 })).toEqual(lengthBuckets(lengths, { batchSize: 8, seed: 3 }));
    expect(lengthBuckets(lengths, { batchSize: 8, seed: 4 })).not.toEqual(lengthBuckets(lengths, { batchSize: 8, seed: 3 }));
    const maxima = lengthBuckets(lengths, { batchSize: 8, poolBatches: 1000 }).map((g) => Math.max(...g.map((i) => lengths[i])));
    expect(maxima).not.toEqual([...maxima].sort((a, b) => a - b));
    expect(() => lengthBuckets(lengths, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });
});

describe('groupedSource', () => {
  it('serves one bucket per item and merges the buckets asked for', () => {
    const texts = ['a', 'a b c d e', 'a b', 'a b c d e f', 'a b c'];
    const encoder = WordEncoder.fromTexts(texts);
    const source = textBatchSource(texts.map((text) => ({ text })), encoder, { maxLength: 16 });
    const groups = lengthBuckets(source.lengths(), { batchSize: 2, seed: 0 });
    const grouped = groupedSource(source, groups);
    expect(grouped.size).toBe(3);
    const before = tf.memory().numTensors;
    for (let k = 0; k < grouped.size; k++) {
      const batch = grouped.batch([k]);
      expect(batch.inputIds.shape[0]).toBe(groups[k].length);
      expect(batch.inputIds.shape[1]).toBe(Math.max(...groups[k].map((i) => source.lengths()[i])));
      disposeBatch(batch);
    }
    const both = grouped.batch([0, 1]);
    expect(both.inputIds.shape[0]).toBe(groups[0].length + groups[1].length);
    disposeBatch(both);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => grouped.batch([3])).toThrow(/no group 3 \(there are 3\)/);
    expect(() => groupedSource(source, [[0, 9]])).toThrow(/group 0 holds index 9, outside \[0, 5\)/);
  });
});
