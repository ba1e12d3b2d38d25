import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeNative, firstMismatch, randomInput, runOn } from '../kernels.test-util.js';
import { collapseTranspose } from './transpose.js';

const permutations = (n: number): number[][] =>
  n === 1 ? [[0]] : permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));

describeNative('native Transpose and Identity', () => {
  const cases: [number[], number[]][] = [
    [[2, 3], [1, 0]],
    ...permutations(3).map((p): [number[], number[]] => [[4, 5, 6], p]),
    ...permutations(4).map((p): [number[], number[]] => [[2, 3, 4, 5], p]),
    [[16, 128, 2, 64], [0, 2, 1, 3]],     // split heads
    [[16, 2, 128, 64], [0, 2, 1, 3]],     // merge heads
    [[8, 2, 128, 64], [0, 1, 3, 2]],      // swap the last two (attention gradients)
    [[512, 700], [1, 0]],                 // a weight gradient's explicit transpose
    [[3, 1, 4], [2, 1, 0]], [[1, 5, 1], [2, 0, 1]], [[1, 1], [1, 0]], [[0, 3], [1, 0]], [[7], [0]],
  ];
  for (const [shape, perm] of cases) {
    it(`transposes [${shape}] by [${perm}] exactly as the cpu kernel`, async () => {
      const fn = (x: tf.Tensor) => tf.transpose(x, perm);
      const input = randomInput(shape, shape.length);
      const [got] = await runOn('native', [input], fn);
      const [want] = await runOn('cpu', [input], fn);
      expect(got.shape).toEqual(want.shape);
      expect(firstMismatch(got.values, want.values)).toBe(-1);
    });
  }

  it('transposes int32 tensors too', async () => {
    const input = { values: Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4], dtype: 'int32' as const };
    const [got] = await runOn('native', [input], (x) => tf.transpose(x, [2, 0, 1]));
    const [want] = await runOn('cpu', [input], (x) => tf.transpose(x, [2, 0, 1]));
    expect(got.values).toBeInstanceOf(Int32Array);
    expect([...got.values]).toEqual([...want.values]);
  });

  it('collapses size-1 dims and dims that stay neighbours', () => {
    expect([...collapseTranspose([16, 128, 2, 64], [0, 2, 1, 3])]).toEqual([4, 16, 128, 2, 64, 0, 2, 1, 3]);
    expect([...collapseTranspose([4, 5, 6], [0, 1, 2])]).toEqual([1, 120, 0]);
    expect([...collapseTranspose([4, 5, 6], [1, 2, 0])]).toEqual([2, 4, 30, 1, 0]);
    expect([...collapseTranspose([3, 1, 4], [2, 1, 0])]).toEqual([2, 3, 4, 1, 0]);
    expect([...collapseTranspose([1, 1], [1, 0])]).toEqual([1, 1, 0]);
  });

  it('makes Identity share the data, as the cpu backend does, and keeps it alive until both are disposed', async () => {
    const [got] = await runOn('native', [randomInput([3, 4], 1)], (x) => {
      const y = tf.clone(x);
      expect(tf.engine().backend.numDataIds()).toBeGreaterThan(0);
      return tf.add(y, 0);
    });
    const [want] = await runOn('cpu', [randomInput([3, 4], 1)], (x) => tf.add(tf.clone(x), 0));
    expect([...got.values]).toEqual([...want.values]);
    await tf.setBackend('wasm');
    const { enableNativeKernels, disableNativeKernels } = await import('../index.js');
    enableNativeKernels({ logger: { info: () => {}, warn: () => {} } });
    try {
      const before = tf.engine().backend.numDataIds();
      const x = tf.tensor([1, 2, 3]);
      const y = tf.clone(x);
      expect(tf.engine().backend.numDataIds()).toBe(before + 1);
      x.dispose();
      expect([...y.dataSync()]).toEqual([1, 2, 3]);
      y.dispose();
      expect(tf.engine().backend.numDataIds()).toBe(before);
    } finally {
      disableNativeKernels();
    }
  });
});
