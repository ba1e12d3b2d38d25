import { describe, expect, it } from 'vitest';
import { sha256 } from './internals/hash.js';
import { splitExamples } from './splits.js';
import type { TextExample } from './types.js';

const examples: TextExample[] = Array.from({ length: 1003 }, (_, i) => ({ text: `example ${i}`, label: i % 10 < 3 ? 1 : 0 }));

describe('splitExamples', () => {
  it('makes disjoint splits that cover every example, sized by the fractions', () => {
    const s = splitExamples(examples, { seed: 7 });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([803, 100, 100]);
    const all = [...s.indices.train, ...s.indices.validation, ...s.indices.test];
    expect(new Set(all).size).toBe(examples.length);
    // No overlap by content either.
    const hashes = (list: TextExample[]) => new Set(list.map((e) => sha256(e.text)));
    const [tr, va, te] = [hashes(s.train), hashes(s.validation), hashes(s.test)];
    for (const h of va) { expect(tr.has(h)).toBe(false); expect(te.has(h)).toBe(false); }
    for (const h of te) expect(tr.has(h)).toBe(false);
    expect(s.indices.train).toEqual([...s.indices.train].sort((a, b) => a - b));
    expect(s.train[0]).toBe(examples[s.indices.train[0]]);
  });

  it('is deterministic by seed', () => {
    const a = splitExamples(examples, { seed: 3 });
    const b = splitExamples(examples, { seed: 3 });
    const c = splitExamples(examples, { seed: 4 });
    expect(b.indices).toEqual(a.indices);
    expect(c.indices.test).not.toEqual(a.indices.test);
    // Recorded values: the same on every machine and Node version (core Rng, no Math.random).
    expect(a.indices.test.slice(0, 5)).toEqual([46, 65, 85, 89, 102]);
  });

  it('stratifies by label on request', () => {
    const s = splitExamples(examples, { seed: 1, stratify: true, fractions: { train: 0.7, validation: 0.15, test: 0.15 } });
    const share = (list: TextExample[]) => list.filter((e) => e.label === 1).length / list.length;
    for (const part of [s.train, s.validation, s.test]) expect(Math.abs(share(part) - 0.3)).toBeLessThan(0.005);
    const custom = splitExamples(examples, { seed: 1, stratify: (e) => e.text.length });
    expect(custom.train.length + custom.validation.length + custom.test.length).toBe(examples.length);
  });

  it('allows an empty test split and validates fractions', () => {
    const s = splitExamples(examples, { fractions: { train: 0.9, validation: 0.1, test: 0 } });
    expect(s.test).toEqual([]);
    expect(() => splitExamples(examples, { fractions: { train: 0.8, validation: 0.1, test: 0.2 } })).toThrow(/sum to 1, got 1.1/);
    expect(() => splitExamples(examples, { fractions: { train: 1.2, validation: -0.2, test: 0 } })).toThrow(/fractions.train must be a number in \[0, 1\]/);
    expect(() => splitExamples(examples, { seed: 1.5 })).toThrow(/seed must be an integer/);
  });
});
