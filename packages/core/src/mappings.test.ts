import { describe, expect, it } from 'vitest';
import { DistilleryError, explicit, hasEmbeddingEntry, last, lastLayer, skip, uniform, type Feature, type LayerPair } from '@distillery/core';
import { thrown } from '@distillery/core/testing';

/** Builds pairs from parallel student/teacher index lists, so expectations read like LOSSES.md. */
const zip = (student: number[], teacher: number[]): LayerPair[] => student.map((s, i) => ({ student: s, teacher: teacher[i] }));

const ATTENTION_SIDE: Feature[] = ['attentionScores', 'attentionProbs', 'queries', 'keys', 'values'];

describe('hasEmbeddingEntry', () => {
  it('is true only for hidden (index 0 = embedding output)', () => {
    expect(hasEmbeddingEntry('hidden')).toBe(true);
    for (const f of [...ATTENTION_SIDE, 'logits', 'mlmLogits'] as Feature[]) expect(hasEmbeddingEntry(f)).toBe(false);
  });
});

describe('uniform (TinyBERT)', () => {
  // LOSSES.md: 12→4, k = 3. Attention: student layers 1..4 ↔ teacher layers 3, 6, 9, 12;
  // attention lists start at layer 1, so list indices are layer − 1: student 0..3 ↔ teacher 2, 5, 8, 11.
  it('12→4 attention pairs teacher layers 3,6,9,12 (list indices 2,5,8,11)', () => {
    for (const f of ATTENTION_SIDE) {
      expect(uniform().pairs(12, 4, f)).toEqual(zip([0, 1, 2, 3], [2, 5, 8, 11]));
    }
  });

  // Hidden: student hidden[i] ↔ teacher hidden[3i], i = 0..4 (index 0 is the embedding output).
  it('12→4 hidden pairs 0,3,6,9,12 including the embeddings', () => {
    expect(uniform().pairs(12, 4, 'hidden')).toEqual(zip([0, 1, 2, 3, 4], [0, 3, 6, 9, 12]));
  });

  it('equal depth maps each layer to itself', () => {
    expect(uniform().pairs(3, 3, 'hidden')).toEqual(zip([0, 1, 2, 3], [0, 1, 2, 3]));
    expect(uniform().pairs(3, 3, 'attentionProbs')).toEqual(zip([0, 1, 2], [0, 1, 2]));
  });

  it('6→2: k = 3, attention teacher layers 3 and 6', () => {
    expect(uniform().pairs(6, 2, 'attentionScores')).toEqual(zip([0, 1], [2, 5]));
    expect(uniform().pairs(6, 2, 'hidden')).toEqual(zip([0, 1, 2], [0, 3, 6]));
  });

  it('fails when N is not a multiple of M, naming both counts', () => {
    const e = thrown(() => uniform().pairs(6, 4, 'hidden'));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('mapping');
    expect(e.message).toContain('6');
    expect(e.message).toContain('4');
    expect(e.message).toMatch(/multiple/);
  });

  it('fails when the student is deeper than the teacher', () => {
    const e = thrown(() => uniform().pairs(4, 8, 'hidden'));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('mapping');
    expect(e.message).toContain('8');
    expect(e.message).toContain('4');
  });

  it('fails on non-positive or fractional counts', () => {
    expect(() => uniform().pairs(12, 0, 'hidden')).toThrow(DistilleryError);
    expect(() => uniform().pairs(0, 0, 'hidden')).toThrow(DistilleryError);
    expect(() => uniform().pairs(12, 2.5, 'hidden')).toThrow(DistilleryError);
  });
});

describe('skip (PKD-Skip)', () => {
  // LOSSES.md: 12→6, student layers 1..5 ↔ teacher layers 2i = 2, 4, 6, 8, 10 (the last layer is left
  // to the logit loss). Hidden list indices equal layer numbers.
  it('12→6 hidden pairs student 1..5 with teacher 2,4,6,8,10', () => {
    expect(skip().pairs(12, 6, 'hidden')).toEqual(zip([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]));
  });

  it('12→6 attention-side indices are layer − 1', () => {
    expect(skip().pairs(12, 6, 'attentionProbs')).toEqual(zip([0, 1, 2, 3, 4], [1, 3, 5, 7, 9]));
  });

  it('12→3: teacher layers 4 and 8', () => {
    expect(skip().pairs(12, 3, 'hidden')).toEqual(zip([1, 2], [4, 8]));
  });

  it('a one-layer student has no pairs (its only layer goes to the logit loss)', () => {
    expect(skip().pairs(12, 1, 'hidden')).toEqual([]);
  });

  it('fails when N is not a multiple of M, naming both counts', () => {
    const e = thrown(() => skip().pairs(12, 5, 'hidden'));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toContain('12');
    expect(e.message).toContain('5');
  });

  it('fails when the student is deeper than the teacher', () => {
    expect(() => skip().pairs(6, 12, 'hidden')).toThrow(/more layers \(12\) than the teacher \(6\)/);
  });
});

describe('last (PKD-Last)', () => {
  // LOSSES.md: 12→6, student i ↔ teacher N − M + i = 6 + i for i = 1..5: teacher 7..11.
  it('12→6 hidden pairs student 1..5 with teacher 7..11', () => {
    expect(last().pairs(12, 6, 'hidden')).toEqual(zip([1, 2, 3, 4, 5], [7, 8, 9, 10, 11]));
  });

  it('12→6 attention-side indices are layer − 1', () => {
    expect(last().pairs(12, 6, 'keys')).toEqual(zip([0, 1, 2, 3, 4], [6, 7, 8, 9, 10]));
  });

  it('does not need N to be a multiple of M (12→5: teacher 8..11)', () => {
    // N − M + i = 7 + i for i = 1..4.
    expect(last().pairs(12, 5, 'hidden')).toEqual(zip([1, 2, 3, 4], [8, 9, 10, 11]));
  });

  it('fails when the student is deeper than the teacher', () => {
    expect(() => last().pairs(3, 4, 'hidden')).toThrow(DistilleryError);
  });
});

describe('lastLayer (MiniLM)', () => {
  it('pairs the last layers: 12→4 attention indices 3 ↔ 11, hidden 4 ↔ 12', () => {
    expect(lastLayer().pairs(12, 4, 'attentionProbs')).toEqual(zip([3], [11]));
    expect(lastLayer().pairs(12, 4, 'values')).toEqual(zip([3], [11]));
    expect(lastLayer().pairs(12, 4, 'hidden')).toEqual(zip([4], [12]));
  });

  it('works for any depths (12→5)', () => {
    expect(lastLayer().pairs(12, 5, 'queries')).toEqual(zip([4], [11]));
  });

  it('teacherLayer (1-based) picks another teacher layer', () => {
    // MiniLMv2 often uses teacher layer 8 of 12: attention index 7, hidden index 8.
    expect(lastLayer({ teacherLayer: 8 }).pairs(12, 4, 'queries')).toEqual(zip([3], [7]));
    expect(lastLayer({ teacherLayer: 8 }).pairs(12, 4, 'hidden')).toEqual(zip([4], [8]));
  });

  it('teacherLayer out of 1..N fails naming the value and the range', () => {
    const e = thrown(() => lastLayer({ teacherLayer: 13 }).pairs(12, 4, 'keys'));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toContain('13');
    expect(e.message).toContain('1..12');
    expect(() => lastLayer({ teacherLayer: 0 }).pairs(12, 4, 'keys')).toThrow(DistilleryError);
    expect(() => lastLayer({ teacherLayer: 1.5 }).pairs(12, 4, 'keys')).toThrow(DistilleryError);
  });

  it('fails when the student is deeper than the teacher', () => {
    expect(() => lastLayer().pairs(2, 4, 'keys')).toThrow(DistilleryError);
  });
});

describe('explicit', () => {
  it('returns the given pairs as copies', () => {
    const given = zip([0, 1], [3, 7]);
    const pairs = explicit(given).pairs(8, 2, 'attentionProbs');
    expect(pairs).toEqual(given);
    expect(pairs[0]).not.toBe(given[0]);
  });

  it('accepts a list per feature', () => {
    const m = explicit({ hidden: zip([0, 2], [0, 12]), attentionProbs: zip([1], [11]) });
    expect(m.pairs(12, 2, 'hidden')).toEqual(zip([0, 2], [0, 12]));
    expect(m.pairs(12, 2, 'attentionProbs')).toEqual(zip([1], [11]));
    expect(() => m.pairs(12, 2, 'values')).toThrow(/no pairs given for feature 'values'/);
  });

  // Range: hidden has M+1 (student) / N+1 (teacher) entries, attention-side M / N.
  it('accepts the largest valid indices: hidden M and N, attention M−1 and N−1', () => {
    expect(explicit(zip([2], [12])).pairs(12, 2, 'hidden')).toEqual(zip([2], [12]));
    expect(explicit(zip([1], [11])).pairs(12, 2, 'attentionScores')).toEqual(zip([1], [11]));
  });

  it('a teacher index one past the end fails, naming the index and the valid range', () => {
    // Attention for a 12-layer teacher: valid 0..11, so 12 is out.
    const e = thrown(() => explicit(zip([0, 1], [5, 12])).pairs(12, 2, 'attentionScores'));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('mapping');
    expect(e.message).toContain('pairs[1].teacher = 12');
    expect(e.message).toContain('0..11');
    // Hidden: valid 0..12, so 13 is out.
    expect(() => explicit(zip([0], [13])).pairs(12, 2, 'hidden')).toThrow(/pairs\[0\]\.teacher = 13.*0\.\.12/);
  });

  it('a student index out of range fails, naming it', () => {
    // Student of 2 layers, attention valid 0..1.
    expect(() => explicit(zip([2], [0])).pairs(12, 2, 'attentionProbs')).toThrow(/pairs\[0\]\.student = 2.*0\.\.1/);
    // Hidden valid 0..2.
    expect(() => explicit(zip([3], [0])).pairs(12, 2, 'hidden')).toThrow(/pairs\[0\]\.student = 3/);
    expect(() => explicit(zip([-1], [0])).pairs(12, 2, 'hidden')).toThrow(/pairs\[0\]\.student = -1/);
    expect(() => explicit(zip([0.5], [0])).pairs(12, 2, 'hidden')).toThrow(/pairs\[0\]\.student = 0\.5/);
  });
});
