import { describe, expect, it } from 'vitest';
import { Rng } from '@distillery/core/kit';
import { HIDDEN_LABEL } from './partial-labels.js';
import { sampleExamples } from './sampling.js';
import type { TextExample } from './types.js';

// 3 in every 10 of class 1: a 70/30 corpus of 1,000.
const data: TextExample[] = Array.from({ length: 1000 }, (_, i) => ({ text: `t${i}`, label: i % 10 < 3 ? 1 : 0 }));
const count = (examples: readonly TextExample[], label: number) => examples.filter((e) => e.label === label).length;

describe('sampleExamples', () => {
  it('unstratified, it is the first `limit` indices of one shuffle with new Rng(seed), in original order', () => {
    // The draw the CLI's `limit` has made since its first version, written out.
    const expected = new Rng(42).shuffle(Array.from({ length: 1000 }, (_, i) => i)).slice(0, 120).sort((a, b) => a - b).map((i) => data[i]);
    expect(sampleExamples(data, { limit: 120, seed: 42 })).toEqual(expected);
    expect(sampleExamples(data, { limit: 120 })).toEqual(expected);
  });

  it('stratified, it keeps the class shares exactly (largest remainder): 120 of a 70/30 corpus → 84 / 36', () => {
    const picked = sampleExamples(data, { limit: 120, seed: 5, stratify: true });
    expect(picked).toHaveLength(120);
    expect([count(picked, 0), count(picked, 1)]).toEqual([84, 36]);
    // Original order, no repeats, the same draw for the same seed.
    const ids = picked.map((e) => Number(e.text.slice(1)));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(sampleExamples(data, { limit: 120, seed: 5, stratify: true })).toEqual(picked);
    expect(sampleExamples(data, { limit: 120, seed: 6, stratify: true })).not.toEqual(picked);
  });

  it('hidden labels form a stratum of their own; a function gives custom strata', () => {
    const partly = data.map((e, i) => (i % 2 ? { ...e, label: HIDDEN_LABEL } : e));
    const picked = sampleExamples(partly, { limit: 100, seed: 1, stratify: true });
    expect(count(picked, HIDDEN_LABEL)).toBe(50);
    const byParity = sampleExamples(data, { limit: 10, seed: 1, stratify: (_e, i) => i % 2 });
    expect(byParity.filter((e) => Number(e.text.slice(1)) % 2 === 0)).toHaveLength(5);
  });

  it('a limit at or above the size keeps everything; bad options and unlabelled strata fail', () => {
    expect(sampleExamples(data, { limit: 1000, stratify: true })).toEqual(data);
    expect(() => sampleExamples(data, { limit: -1 })).toThrow('sampleExamples: limit must be an integer >= 0, got -1');
    expect(() => sampleExamples([{ text: 'a', label: 0 }, { text: 'b' }], { limit: 1, stratify: true }))
      .toThrow('sampleExamples: stratify needs labels, but example 1 has none');
  });
});
