import { describe, expect, it } from 'vitest';
import { describeKeptLabels, HIDDEN_LABEL, keepLabels } from './partial-labels.js';
import { allocate } from './internals/strata.js';
import type { TextExample } from './types.js';

/** n examples (a multiple of 10), 3 in every 10 of class 1, the others class 0: a 70/30 corpus. */
const corpus = (n: number): TextExample[] => Array.from({ length: n }, (_, i) => ({ text: `t${i}`, label: i % 10 < 3 ? 1 : 0 }));
const count = (examples: readonly TextExample[], label: number) => examples.filter((e) => e.label === label).length;
const keptIndices = (examples: readonly TextExample[]) => examples.flatMap((e, i) => (e.label === HIDDEN_LABEL ? [] : [i]));

describe('keepLabels', () => {
  const data = corpus(1000);
  it('the corpus has 700 of class 0 and 300 of class 1', () => {
    expect([count(data, 0), count(data, 1)]).toEqual([700, 300]);
  });

  it('a stratified 5 % keeps 50 rows, 35 / 15 as the 70/30 corpus, the others hidden as -100', () => {
    const { examples, report } = keepLabels(data, { fraction: 0.05, seed: 1 });
    expect(HIDDEN_LABEL).toBe(-100);
    expect([count(examples, 0), count(examples, 1), count(examples, HIDDEN_LABEL)]).toEqual([35, 15, 950]);
    expect(report).toEqual({ rows: 1000, labelled: 1000, kept: 50, fraction: 0.05, seed: 1, stratify: true,
      classes: [{ label: 0, kept: 35, labelled: 700 }, { label: 1, kept: 15, labelled: 300 }] });
    // Kept rows keep their own label and object; texts are untouched; the input is not modified.
    for (const i of keptIndices(examples)) expect(examples[i]).toBe(data[i]);
    expect(examples.map((e) => e.text)).toEqual(data.map((e) => e.text));
    expect(count(data, HIDDEN_LABEL)).toBe(0);
  });

  it('the same seed keeps the same rows; another seed other rows', () => {
    const a = keptIndices(keepLabels(data, { fraction: 0.05, seed: 1 }).examples);
    expect(keptIndices(keepLabels(data, { fraction: 0.05, seed: 1 }).examples)).toEqual(a);
    expect(keptIndices(keepLabels(data, { fraction: 0.05, seed: 2 }).examples)).not.toEqual(a);
  });

  it('a count keeps exactly that many rows, split by largest remainder', () => {
    // 231 of 1000 at 70/30: quotas 161.7 and 69.3 → 161 + 69 = 230, the last one to the larger remainder (0.7): 162 / 69.
    const { examples, report } = keepLabels(data, { count: 231, seed: 7 });
    expect([count(examples, 0), count(examples, 1)]).toEqual([162, 69]);
    expect(report.kept).toBe(231);
    expect(report.count).toBe(231);
    expect(report.fraction).toBeUndefined();
  });

  it('unstratified: one draw over all rows, the total exact, the class shares left to chance', () => {
    const { examples, report } = keepLabels(data, { count: 100, seed: 3, stratify: false });
    expect(count(examples, 0) + count(examples, 1)).toBe(100);
    expect(report.stratify).toBe(false);
  });

  it('rows already hidden stay hidden and are not drawn; fraction applies to the labelled rows', () => {
    const partly = data.map((e, i) => (i % 2 ? { ...e, label: HIDDEN_LABEL } : e));
    const { examples, report } = keepLabels(partly, { fraction: 0.1, seed: 1 });
    expect(report).toMatchObject({ rows: 1000, labelled: 500, kept: 50 });
    expect(keptIndices(examples).every((i) => i % 2 === 0)).toBe(true);
  });

  it('fraction 1 keeps every label; fraction 0 and count 0 hide them all', () => {
    expect(keepLabels(data, { fraction: 1 }).examples).toEqual(data);
    expect(count(keepLabels(data, { fraction: 0 }).examples, HIDDEN_LABEL)).toBe(1000);
    expect(count(keepLabels(data, { count: 0 }).examples, HIDDEN_LABEL)).toBe(1000);
  });

  it('regression targets: stratify must be off, and no per-class counts are given', () => {
    const targets: TextExample[] = [0.5, 1.25, 3, 4.5].map((label, i) => ({ text: `t${i}`, label }));
    expect(() => keepLabels(targets, { count: 2 })).toThrow('keepLabels: stratify needs class ids, but example 0 has label 0.5; set stratify: false for regression targets');
    const { examples, report } = keepLabels(targets, { count: 2, stratify: false });
    expect(count(examples, HIDDEN_LABEL)).toBe(2);
    expect(report.classes).toBeUndefined();
  });

  it('fails on wrong options and unlabelled examples, naming the option', () => {
    expect(() => keepLabels(data, {})).toThrow("keepLabels: give 'fraction' (a share of the labelled rows, in [0, 1]) or 'count' (a number of rows), got neither");
    expect(() => keepLabels(data, { fraction: 0.1, count: 3 })).toThrow(/not both/);
    expect(() => keepLabels(data, { fraction: 1.5 })).toThrow("keepLabels: option 'fraction' must be a number in [0, 1], got 1.5");
    expect(() => keepLabels(data, { count: 2.5 })).toThrow("keepLabels: option 'count' must be an integer >= 0, got 2.5");
    expect(() => keepLabels(data, { count: 1001 })).toThrow("keepLabels: option 'count' must be at most the number of labelled rows (1000), got 1001");
    expect(() => keepLabels(data, { count: 1, seed: 0.5 })).toThrow("keepLabels: option 'seed' must be an integer, got 0.5");
    expect(() => keepLabels([{ text: 'a', label: 0 }, { text: 'b' }], { count: 1 }))
      .toThrow('keepLabels: example 1 has no label: only a labelled dataset can keep some of its labels');
  });

  it('describeKeptLabels: one line with counts, how they were drawn and, per class, kept of labelled', () => {
    const { report } = keepLabels(data, { fraction: 0.05, seed: 1 });
    expect(describeKeptLabels(report, ['ham', 'spam'])).toBe('50 of 1,000 rows keep their label (5 %, seed 1, stratified; ham 35 of 700, spam 15 of 300)');
    const byCount = keepLabels(data, { count: 231, seed: 7, stratify: false }).report;
    expect(describeKeptLabels(byCount)).toMatch(/^231 of 1,000 rows keep their label \(count 231, seed 7, not stratified; 0 \d+ of 700, 1 \d+ of 300\)$/);
    const partly = keepLabels(data.map((e, i) => (i < 10 ? { ...e, label: HIDDEN_LABEL } : e)), { fraction: 0.125 }).report;
    expect(describeKeptLabels(partly)).toMatch(/^124 of 1,000 rows keep their label \(12\.5 %, seed 42, stratified, 10 hidden before; /);
  });
});

describe('allocate (largest remainder)', () => {
  it('splits a total in proportion, summing exactly: sizes 5, 3, 2 and total 4 → 2, 1, 1', () => {
    // Quotas 2, 1.2, 0.8: floors 2, 1, 0; the one left goes to the largest remainder (0.8).
    expect(allocate([5, 3, 2], 4)).toEqual([2, 1, 1]);
    expect(allocate([1, 1], 1)).toEqual([1, 0]);
    expect(allocate([0, 0], 0)).toEqual([0, 0]);
    expect(allocate([3, 3, 3], 9)).toEqual([3, 3, 3]);
  });
});
