import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, silentLogger, type LossContext, type StepEvent } from '@distillery/core';
import {
  expectClose, expectComputeLeavesNoTensors, expectRel, mean, stepRecorder, thrown, thrownWithoutLeaks,
} from '@distillery/core/testing';

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
});

describe('thrown', () => {
  it('returns what the function throws', () => {
    const error = new RangeError('boom');
    expect(thrown(() => { throw error; })).toBe(error);
  });

  it('fails when the function returns', () => {
    expect(() => thrown(() => 1)).toThrow('expected the call to throw');
  });
});

describe('thrownWithoutLeaks', () => {
  it('returns the error when the call frees what it allocated', () => {
    const error = thrownWithoutLeaks(() => tf.tidy(() => { tf.scalar(1); throw new RangeError('boom'); }));
    expect(error).toBeInstanceOf(RangeError);
  });

  it('fails when the throwing call leaves a tensor behind, or does not throw', () => {
    let leaked: tf.Tensor | undefined;
    expect(() => thrownWithoutLeaks(() => { leaked = tf.scalar(1); throw new Error('boom'); })).toThrow(/left 1 tensor/);
    leaked!.dispose();
    expect(() => thrownWithoutLeaks(() => 1)).toThrow('expected the call to throw');
  });
});

describe('expectRel', () => {
  it('accepts within 1e-5 · |expected| + floor and rejects beyond, naming the value', () => {
    expect(() => expectRel(1000.009, 1000)).not.toThrow();
    expect(() => expectRel(1000.011, 1000, 'x')).toThrow('x: got 1000.011, expected 1000');
    expect(() => expectRel(1e-10, 0)).not.toThrow();
    expect(() => expectRel(2e-9, 0)).toThrow();
    expect(() => expectRel(1e-7, 0, 'identical', 1e-7)).not.toThrow();
    expect(() => expectRel(2e-7, 0, 'identical', 1e-7)).toThrow();
  });

  it('rejects NaN', () => {
    expect(() => expectRel(Number.NaN, 1)).toThrow();
    expect(() => expectRel(1, Number.NaN)).toThrow();
  });
});

describe('expectClose', () => {
  it('is absolute (1e-5) below 1 and relative (1e-5 · |expected|) above', () => {
    expect(() => expectClose(0.001009, 0.001)).not.toThrow();
    expect(() => expectClose(0.000011, 0)).toThrow();
    expect(() => expectClose(1000.009, 1000)).not.toThrow();
    expect(() => expectClose(1000.011, 1000, 'y')).toThrow('y: got 1000.011, expected 1000');
    expect(() => expectClose(Number.NaN, 0)).toThrow();
  });
});

describe('expectComputeLeavesNoTensors', () => {
  const ctx = {} as LossContext;

  it('passes a compute whose only live tensors are its outputs', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const loss = { compute: () => tf.tidy(() => ({ total: tf.sum<tf.Scalar>(x), terms: { a: tf.max<tf.Scalar>(x), b: tf.min<tf.Scalar>(x) } })) };
    expect(() => expectComputeLeavesNoTensors(loss, ctx)).not.toThrow();
    x.dispose();
  });

  it('fails a compute that leaks an intermediate, and one that allocates nothing', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const leaked: tf.Tensor[] = [];
    const leaky = { compute: () => { leaked.push(tf.square(x)); return { total: tf.sum<tf.Scalar>(x), terms: {} }; } };
    expect(() => expectComputeLeavesNoTensors(leaky, ctx)).toThrow(/left 1 tensor/);
    tf.dispose(leaked);
    const held = { total: tf.scalar(1), terms: {} };
    expect(() => expectComputeLeavesNoTensors({ compute: () => held }, ctx)).toThrow(/allocate/);
    tf.dispose([x, held.total]);
  });
});

describe('stepRecorder and mean', () => {
  it('records each step with the live tensor count after it, and filters by stage', () => {
    const rec = stepRecorder();
    const event = (stage: string, step: number) => ({ stage, step, terms: { l: step } }) as unknown as StepEvent;
    const before = tf.memory().numTensors;
    void rec.callback.onStep!(event('a', 1));
    const t = tf.scalar(0);
    void rec.callback.onStep!(event('b', 2));
    t.dispose();
    expect(rec.steps.map((s) => s.step)).toEqual([1, 2]);
    expect(rec.counts).toEqual([before, before + 1]);
    expect(rec.of('b').map((s) => s.step)).toEqual([2]);
  });

  it('mean is the arithmetic mean', () => {
    expect(mean([1, 2, 6])).toBe(3);
  });
});
