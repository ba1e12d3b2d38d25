import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeNative, randomInput, runOn, worstError } from '../kernels.test-util.js';

describeNative('native Sum and Mean', () => {
  const x = randomInput([6, 7, 8], 3);
  const axes: (number | number[])[] = [0, 1, 2, -1, [0, 1], [1, 2], [0, 1, 2], [2, 1], [0, 2]];
  for (const op of ['sum', 'mean'] as const) {
    for (const axis of axes) {
      for (const keepDims of [false, true]) {
        it(`${op} of [6,7,8] over axis ${JSON.stringify(axis)}, keepDims=${keepDims}, agrees with cpu and wasm`, async () => {
          const fn = (t: tf.Tensor) => tf[op](t, axis, keepDims);
          const [got] = await runOn('native', [x], fn);
          for (const mode of ['cpu', 'wasm'] as const) {
            const [want] = await runOn(mode, [x], fn);
            expect(got.shape).toEqual(want.shape);
            // wasm accumulates in float32 (DESIGN.md), the native kernel and cpu in double.
            expect(worstError(got.values, want.values, mode === 'cpu' ? 1e-6 : 1e-5, 1e-6)).toBeLessThanOrEqual(1);
          }
        });
      }
    }
  }

  it('reduces bias gradients ([2048, 256] over axis 0 and [16, 128, 1024] over [0, 1]) as the cpu backend does', async () => {
    for (const [shape, axis] of [[[2048, 256], 0], [[16, 128, 1024], [0, 1]], [[64, 4096], 1]] as const) {
      const input = randomInput([...shape], 5);
      const fn = (t: tf.Tensor) => tf.sum(t, axis as number | number[]);
      const [got] = await runOn('native', [input], fn);
      const [want] = await runOn('cpu', [input], fn);
      expect(worstError(got.values, want.values, 1e-5, 1e-6), `[${shape}] over ${axis}`).toBeLessThanOrEqual(1);
    }
  });

  it('is more accurate than float32 accumulation on a mean of 524k values', async () => {
    const n = 1 << 19;
    const input = { values: new Float32Array(n).fill(0.1), shape: [n] };
    const [got] = await runOn('native', [input], (t) => tf.mean(t));
    expect(Math.abs(got.values[0] - Math.fround(0.1))).toBeLessThan(1e-8);
  });

  it('sums and means an empty axis to 0, as the cpu backend does', async () => {
    const input = { values: [], shape: [0, 5] };
    for (const op of ['sum', 'mean'] as const) {
      const [got] = await runOn('native', [input], (t) => tf[op](t, 0));
      const [want] = await runOn('cpu', [input], (t) => tf[op](t, 0));
      expect(got.shape).toEqual([5]);
      expect([...got.values]).toEqual([...want.values]);
    }
  });

  it('leaves int32 sums to the original kernel', async () => {
    const input = { values: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: 'int32' as const };
    const [got] = await runOn('native', [input], (t) => tf.sum(t, 0));
    expect([...got.values]).toEqual([5, 7, 9]);
  });
});
