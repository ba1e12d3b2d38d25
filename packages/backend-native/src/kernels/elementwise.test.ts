import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeNative, firstMismatch, randomInput, randomValues, runOn, worstError } from '../kernels.test-util.js';
import { broadcastDims } from './binary.js';

// Values across the interesting ranges: tiny, moderate, large, and the special ones.
const spread = (seed: number) => Float32Array.from([
  ...Array.from(randomValues(4000, seed), (v) => v * 6),
  ...Array.from(randomValues(1000, seed + 1), (v) => v * 1e-3),
  ...Array.from(randomValues(1000, seed + 2), (v) => v * 120),
  0, -0, 1, -1, 88.5, 89, -87, -103, -110, Infinity, -Infinity, NaN,
]);

describeNative('native element-wise kernels', () => {
  const unary: [string, (t: tf.Tensor) => tf.Tensor, number, number, (v: number) => number][] = [
    ['erf', tf.erf, 5e-7, 0, (v) => v],
    ['exp', tf.exp, 1e-37, 5e-7, (v) => v],
    ['tanh', tf.tanh, 3e-7, 1e-6, (v) => v],
    ['sqrt', tf.sqrt, 0, 1e-7, (v) => Math.abs(v)],
    ['rsqrt', tf.rsqrt, 0, 2.4e-7, (v) => Math.abs(v)],
    ['square', tf.square, 0, 1e-7, (v) => v],
    ['neg', tf.neg, 0, 0, (v) => v],
  ];
  for (const [name, fn, atol, rtol, domain] of unary) {
    it(`${name} agrees with the cpu kernel (inf, NaN, subnormal results included)`, async () => {
      const values = spread(name.length).map(domain);
      const input = { values, shape: [values.length] };
      const [got] = await runOn('native', [input], fn);
      const [want] = await runOn('cpu', [input], fn);
      expect(worstError(got.values, want.values, atol, rtol)).toBeLessThanOrEqual(1);
    });
  }

  it('splits a large element-wise op (GELU of [2048, 1024]) across threads with the same result', async () => {
    const input = randomInput([2048, 1024], 9);
    const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    const [got] = await runOn('native', [input], gelu);
    const [want] = await runOn('wasm', [input], gelu);
    expect(worstError(got.values, want.values, 5e-7, 1e-6)).toBeLessThanOrEqual(1);
  });

  const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
    ['squaredDifference', tf.squaredDifference], ['maximum', tf.maximum], ['minimum', tf.minimum],
  ];
  const patterns: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 3, 4], [2, 3, 1]], [[2, 1, 4], [1, 3, 1]],
    [[], [2, 3]], [[2, 3], []], [[5], [1]], [[3, 1, 5, 1], [1, 4, 1, 2]], [[16, 128, 256], [256]], [[2048, 256], [2048, 1]],
  ];
  for (const [name, fn] of binary) {
    it(`${name} agrees with the cpu kernel on every broadcast pattern`, async () => {
      for (const [sa, sb] of patterns) {
        const inputs = [randomInput(sa, sa.length + 1), randomInput(sb, sb.length + 50)];
        const [got] = await runOn('native', inputs, fn);
        const [want] = await runOn('cpu', inputs, fn);
        expect(got.shape, `[${sa}] ${name} [${sb}]`).toEqual(want.shape);
        // Each op rounds once as the cpu kernel does, except squaredDifference: (a − b) is rounded before squaring.
        expect(worstError(got.values, want.values, 0, name === 'squaredDifference' ? 2.4e-7 : 6e-8), `[${sa}] ${name} [${sb}]`).toBeLessThanOrEqual(1);
      }
    });
  }

  const comparisons: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['less', tf.less], ['lessEqual', tf.lessEqual], ['greater', tf.greater], ['greaterEqual', tf.greaterEqual],
    ['equal', tf.equal], ['notEqual', tf.notEqual],
  ];
  for (const [name, fn] of comparisons) {
    it(`${name} gives the cpu kernel's bools on every broadcast pattern, NaN included`, async () => {
      for (const [sa, sb] of [...patterns, [[6], [6]]] as [number[], number[]][]) {
        const b = sa.length === 1 && sa[0] === 6
          ? [{ values: [0, NaN, 1, -1, NaN, 2], shape: [6] }, { values: [0, 0, NaN, -1, NaN, 3], shape: [6] }]
          : [randomInput(sa, 3), { ...randomInput(sb, 3), values: Array.from(randomInput(sb, 3).values, (v, i) => (i % 3 ? v : 0)) }];
        const [got] = await runOn('native', b, fn);
        const [want] = await runOn('cpu', b, fn);
        expect(got.shape, `[${sa}] ${name} [${sb}]`).toEqual(want.shape);
        expect(firstMismatch(got.values, want.values), `[${sa}] ${name} [${sb}]`).toBe(-1);
      }
    });
  }

  it('selects (tf.where) as the cpu kernel, with the condition broadcast by the op', async () => {
    const inputs = [randomInput([16, 2, 8, 8], 1), randomInput([16, 2, 8, 8], 2)];
    const fn = (a: tf.Tensor, b: tf.Tensor) => tf.where(tf.lessEqual(a, 0.2), b, a);
    const [got] = await runOn('native', inputs, fn);
    const [want] = await runOn('cpu', inputs, fn);
    expect(firstMismatch(got.values, want.values)).toBe(-1);
    const mixed = (a: tf.Tensor, b: tf.Tensor) => tf.where(tf.greater(tf.slice(a, [0, 0, 0, 0], [1, 2, 8, 8]), 0), a, b);
    const [got2] = await runOn('native', inputs, mixed);
    const [want2] = await runOn('cpu', inputs, mixed);
    expect(firstMismatch(got2.values, want2.values)).toBe(-1);
  });

  it('divides by zero and propagates NaN as the cpu kernel does', async () => {
    const inputs = [{ values: [1, -1, 0, NaN, 2], shape: [5] }, { values: [0, 0, 0, 1, NaN], shape: [5] }];
    for (const fn of [tf.div, tf.maximum, tf.minimum, tf.add]) {
      const [got] = await runOn('native', inputs, fn);
      const [want] = await runOn('cpu', inputs, fn);
      expect([...got.values]).toEqual([...want.values]);
    }
  });

  it('leaves int32 operands to the original kernels', async () => {
    const inputs = [{ values: [1, 2, 3], shape: [3], dtype: 'int32' as const }, { values: [4, 5, 6], shape: [3], dtype: 'int32' as const }];
    const [got] = await runOn('native', inputs, tf.add);
    expect(got.values).toBeInstanceOf(Int32Array);
    expect([...got.values]).toEqual([5, 7, 9]);
  });
});

describe('broadcastDims', () => {
  it('merges dims that step together and drops size-1 dims', () => {
    expect([...broadcastDims([16, 128, 256], [256], [16, 128, 256])!]).toEqual([2, 2048, 256, 256, 1, 0, 1]);
    expect([...broadcastDims([16, 128, 256], [16, 128, 1], [16, 128, 256])!]).toEqual([2, 2048, 256, 256, 1, 1, 0]);
    expect([...broadcastDims([2, 3], [2, 3], [2, 3])!]).toEqual([1, 6, 1, 1]);
    expect([...broadcastDims([], [], [])!]).toEqual([1, 1, 1, 1]);
  });
});
