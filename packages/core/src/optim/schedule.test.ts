import { describe, expect, it } from 'vitest';
import { DistilleryError, makeSchedule } from '@distillery/core';

/**
 * Hugging Face transformers' schedules, as written there (LambdaLR factor for scheduler step s,
 * s = 0 before the first optimizer step):
 *   get_linear_schedule_with_warmup:   s < W ? s / max(1, W) : max(0, (T − s) / max(1, T − W))
 *   get_constant_schedule_with_warmup: s < W ? s / max(1, W) : 1
 * Our step k (1-based) is the k-th optimizer step, which HF runs with factor(k − 1).
 */
const hfLinear = (s: number, warmup: number, total: number) =>
  s < warmup ? s / Math.max(1, warmup) : Math.max(0, (total - s) / Math.max(1, total - warmup));
const hfConstant = (s: number, warmup: number) => (s < warmup ? s / Math.max(1, warmup) : 1);

describe('makeSchedule linear', () => {
  it('matches get_linear_schedule_with_warmup at every step (warmup 3, total 10)', () => {
    const lr = 2e-5;
    const f = makeSchedule({ type: 'linear', learningRate: lr, warmupSteps: 3 }, 10);
    for (let k = 1; k <= 10; k++) expect(f(k)).toBeCloseTo(lr * hfLinear(k - 1, 3, 10), 15);
  });

  it('worked by hand: lr 1, warmup 2, total 6 → 0, 0.5, 1, 0.75, 0.5, 0.25', () => {
    // k=1: s=0 → 0/2; k=2: s=1 → 1/2; k=3: s=2 → (6−2)/(6−2) = 1; k=4: 3/4; k=5: 2/4; k=6: 1/4.
    const f = makeSchedule({ learningRate: 1, warmupSteps: 2 }, 6);
    expect([1, 2, 3, 4, 5, 6].map(f)).toEqual([0, 0.5, 1, 0.75, 0.5, 0.25]);
  });

  it("is the default type, with default learning rate 5e-5 and no warmup", () => {
    const f = makeSchedule({}, 4);
    // No warmup: k=1 → s=0 → 4/4 = 1; k=4 → s=3 → 1/4.
    expect(f(1)).toBeCloseTo(5e-5, 18);
    expect(f(4)).toBeCloseTo(5e-5 / 4, 18);
  });

  it('never goes below 0 past the last step', () => {
    const f = makeSchedule({ learningRate: 1, warmupSteps: 1 }, 5);
    expect(f(6)).toBe(0);
    expect(f(20)).toBe(0);
  });

  it('warmupRatio: W = ceil(ratio · total), as HF TrainingArguments.get_warmup_steps', () => {
    // ceil(0.25 · 10) = 3 (the value used above); ceil(0.15 · 10) = 2 (1.5 rounded up).
    const a = makeSchedule({ learningRate: 1, warmupRatio: 0.25 }, 10);
    const b = makeSchedule({ learningRate: 1, warmupRatio: 0.15 }, 10);
    for (let k = 1; k <= 12; k++) {
      expect(a(k)).toBeCloseTo(hfLinear(k - 1, 3, 10), 15);
      expect(b(k)).toBeCloseTo(hfLinear(k - 1, 2, 10), 15);
    }
  });

  it('warmupSteps takes precedence over warmupRatio', () => {
    const f = makeSchedule({ learningRate: 1, warmupSteps: 1, warmupRatio: 0.5 }, 10);
    for (let k = 1; k <= 10; k++) expect(f(k)).toBeCloseTo(hfLinear(k - 1, 1, 10), 15);
  });

  it('warmup as long as training: the rate only ramps up', () => {
    const f = makeSchedule({ learningRate: 1, warmupSteps: 4 }, 4);
    expect([1, 2, 3, 4].map(f)).toEqual([0, 0.25, 0.5, 0.75]);
  });
});

describe('makeSchedule constant', () => {
  it('matches get_constant_schedule_with_warmup (warmup 4)', () => {
    const f = makeSchedule({ type: 'constant', learningRate: 3e-4, warmupSteps: 4 }, 10);
    for (let k = 1; k <= 15; k++) expect(f(k)).toBeCloseTo(3e-4 * hfConstant(k - 1, 4), 18);
    expect(f(2)).toBeCloseTo(3e-4 * 0.25, 18);
    expect(f(100)).toBe(3e-4);
  });

  it('without warmup it is the learning rate from the first step', () => {
    const f = makeSchedule({ type: 'constant', learningRate: 0.1 }, 3);
    expect([1, 2, 3, 4].map(f)).toEqual([0.1, 0.1, 0.1, 0.1]);
  });
});

describe('makeSchedule bad configuration', () => {
  const bad = (config: Parameters<typeof makeSchedule>[0], pattern: RegExp) => {
    let error: unknown;
    try { makeSchedule(config, 10); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('config');
    expect((error as Error).message).toMatch(pattern);
  };

  it('non-positive or non-finite learning rate', () => {
    bad({ learningRate: 0 }, /learningRate.*0/);
    bad({ learningRate: -1e-3 }, /learningRate/);
    bad({ learningRate: Number.POSITIVE_INFINITY }, /learningRate/);
    bad({ learningRate: Number.NaN }, /learningRate/);
  });

  it('unknown type, naming it', () => {
    bad({ type: 'cosine' as 'linear' }, /type.*"cosine"/);
  });

  it('warmupRatio outside [0, 1]', () => {
    bad({ warmupRatio: 1.5 }, /warmupRatio.*1\.5/);
    bad({ warmupRatio: -0.1 }, /warmupRatio/);
  });

  it('negative or fractional warmupSteps', () => {
    bad({ warmupSteps: -2 }, /warmupSteps.*-2/);
    bad({ warmupSteps: 1.5 }, /warmupSteps.*1\.5/);
  });
});
