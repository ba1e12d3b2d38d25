import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeNative, firstMismatch, randomInput, runOn } from '../kernels.test-util.js';

const ids = (values: number[], shape = [values.length]) => ({ values, shape, dtype: 'int32' as const });

describeNative('native GatherV2', () => {
  const cases: [string, number[], ReturnType<typeof ids>, number][] = [
    ['rows of a table (embedding lookup)', [10, 4], ids([3, 0, 9, 3]), 0],
    ['2-D ids', [10, 4], ids([1, 2, 3, 4, 5, 6], [2, 3]), 0],
    ['a middle axis', [3, 10, 4], ids([7, 1, 1]), 1],
    ['the last axis', [4, 10], ids([9, 0]), 1],
    ['an 8000-row vocabulary', [8000, 128], ids(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 8000), [16, 128]), 0],
  ];
  for (const [name, shape, indices, axis] of cases) {
    it(`gathers ${name} exactly as the cpu and wasm kernels`, async () => {
      const fn = (x: tf.Tensor, i: tf.Tensor) => tf.gather(x, i, axis);
      const [got] = await runOn('native', [randomInput(shape, 4), indices], fn);
      for (const mode of ['cpu', 'wasm'] as const) {
        const [want] = await runOn(mode, [randomInput(shape, 4), indices], fn);
        expect(got.shape).toEqual(want.shape);
        expect(firstMismatch(got.values, want.values), mode).toBe(-1);
      }
    });
  }

  it('fails on an index outside the axis, as the cpu kernel does, and frees its output', async () => {
    await expect(runOn('native', [randomInput([5, 2], 1), ids([1, 5])], (x, i) => tf.gather(x, i))).rejects.toThrow(/not in \[0, 4\]/);
    await expect(runOn('cpu', [randomInput([5, 2], 1), ids([1, 5])], (x, i) => tf.gather(x, i))).rejects.toThrow();
    const before = tf.engine().backend.numDataIds();
    await expect(runOn('native', [randomInput([5, 2], 1), ids([-1])], (x, i) => tf.gather(x, i))).rejects.toThrow();
    expect(tf.engine().backend.numDataIds()).toBe(before);
  });

  it('leaves int32 tables to the original kernel', async () => {
    const [got] = await runOn('native', [{ values: [1, 2, 3, 4], shape: [2, 2], dtype: 'int32' }, ids([1])], (x, i) => tf.gather(x, i));
    expect([...got.values]).toEqual([3, 4]);
  });
});
