import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeNative, randomInput, runOn, worstError } from '../kernels.test-util.js';
import type { Input } from '../kernels.test-util.js';
import { broadcastBatchIndex } from './batch-mat-mul.js';

type Case = { a: number[]; b: number[]; ta?: boolean; tb?: boolean };

const matMul = ({ ta = false, tb = false }: Case) => (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
const innerOf = ({ a, ta }: Case) => (ta ? a[a.length - 2] : a[a.length - 1]);
const label = (c: Case) => `[${c.a}]${c.ta ? 'ᵀ' : ''} × [${c.b}]${c.tb ? 'ᵀ' : ''}`;
// float32 products of K terms in [-1, 1]: rounding grows with √K.
const atolFor = (k: number) => 2e-6 * Math.sqrt(Math.max(1, k)) + 1e-6;

async function expectAgrees(c: Case, seed: number, against: ('cpu' | 'wasm')[]) {
  const inputs: Input[] = [randomInput(c.a, seed), randomInput(c.b, seed + 1)];
  const [got] = await runOn('native', inputs, matMul(c));
  for (const mode of against) {
    const [want] = await runOn(mode, inputs, matMul(c));
    expect(got.shape, `${label(c)} shape vs ${mode}`).toEqual(want.shape);
    expect(worstError(got.values, want.values, atolFor(innerOf(c)), 1e-5), `${label(c)} vs ${mode}`).toBeLessThanOrEqual(1);
  }
}

const transposes = [[false, false], [true, false], [false, true], [true, true]] as const;
const withTranspose = (a: number[], b: number[], ta: boolean, tb: boolean): Case => {
  const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
  return { a: ta ? swap(a) : a, b: tb ? swap(b) : b, ta, tb };
};

describeNative('native BatchMatMul', () => {
  describe('agrees with the cpu and plain wasm kernels', () => {
    const shapes: [string, number[], number[]][] = [
      ['2-D', [7, 5], [5, 3]],
      ['batched', [4, 6, 8], [4, 8, 5]],
      ['A batch 1 vs B batch n', [1, 6, 8], [4, 8, 5]],
      ['rank-2 A vs batched B', [6, 8], [4, 8, 5]],
      ['A batch n vs B batch 1', [4, 6, 8], [1, 8, 5]],
      ['batched A vs rank-2 B (one tall GEMM)', [4, 6, 8], [8, 5]],
      ['rank 4', [2, 3, 6, 8], [2, 3, 8, 5]],
      ['rank 4 vs rank 3 (B repeats over the first dim)', [2, 3, 6, 8], [3, 8, 5]],
      ['vectors', [1, 9], [9, 1]],
    ];
    for (const [name, a, b] of shapes) {
      for (const [ta, tb] of transposes) {
        it(`${name}, transposeA=${ta} transposeB=${tb}`, async () => {
          await expectAgrees(withTranspose(a, b, ta, tb), a.length * 31 + b[0], ['cpu', 'wasm']);
        });
      }
    }
  });

  it('agrees on 24 random shapes (batch, broadcast, transposes)', async () => {
    let s = 12345;
    const rand = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % n; };
    const batchChoices: [number[], number[]][] = [[[], []], [[3], [3]], [[1], [3]], [[3], [1]], [[], [2, 3]], [[2, 3], [3]], [[2, 1], [1]]];
    for (let i = 0; i < 24; i++) {
      const [ba, bb] = batchChoices[rand(batchChoices.length)];
      const m = 1 + rand(40), n = 1 + rand(40), k = 1 + rand(70);
      const c = withTranspose([...ba, m, k], [...bb, k, n], rand(2) === 1, rand(2) === 1);
      await expectAgrees(c, 100 + i, ['cpu', 'wasm']);
    }
  });

  it('broadcasts batch dims that tfjs flattens wrongly ([2,1] × [1,3] gives [2,3])', async () => {
    const c: Case = { a: [2, 1, 4, 5], b: [1, 3, 5, 6] };
    const inputs = [randomInput(c.a, 7), randomInput(c.b, 8)];
    const [got] = await runOn('native', inputs, matMul(c));
    // The reference multiplies explicitly tiled operands, which every kernel handles.
    const [want] = await runOn('cpu', inputs, (a, b) => tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1])));
    expect(got.shape).toEqual([2, 3, 4, 6]);
    expect(worstError(got.values, want.values, atolFor(5), 1e-5)).toBeLessThanOrEqual(1);
    expect([...broadcastBatchIndex([2, 1], [2, 3])]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...broadcastBatchIndex([1, 3], [2, 3])]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...broadcastBatchIndex([3], [2, 3])]).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('returns zeros when K = 0 (tfjs-wasm returns uninitialised memory) and empty outputs when M or N is 0', async () => {
    for (const [a, b, ta, tb] of [[[3, 0], [0, 4], false, false], [[2, 0, 3], [2, 0, 4], true, false], [[2, 3, 0], [4, 0], false, true]] as const) {
      const [got] = await runOn('native', [randomInput([...a], 1), randomInput([...b], 2)], matMul({ a: [...a], b: [...b], ta, tb }));
      expect(got.values.length).toBeGreaterThan(0);
      expect([...got.values].every((v) => v === 0), `[${a}] × [${b}]`).toBe(true);
    }
    const [empty] = await runOn('native', [randomInput([0, 5], 1), randomInput([5, 4], 2)], matMul({ a: [0, 5], b: [5, 4] }));
    expect(empty.shape).toEqual([0, 4]);
  });

  describe('agrees with the cpu kernel on large shapes (work split across threads)', () => {
    const large: [string, number[], number[]][] = [
      ['one big product (rows split)', [300, 257], [257, 513]],
      ['wide product (columns split)', [40, 64], [64, 700]],
      ['attention scores [B, A, S, d] × [B, A, S, d]ᵀ', [8, 2, 128, 64], [8, 2, 64, 128]],
      ['few batches, each split', [3, 200, 96], [3, 96, 150]],
    ];
    for (const [name, a, b] of large) {
      for (const [ta, tb] of transposes) {
        it(`${name}, transposeA=${ta} transposeB=${tb}`, async () => {
          await expectAgrees(withTranspose(a, b, ta, tb), 999, ['cpu']);
        });
      }
    }
  });

  it('gives the same gradients as the cpu backend through transposed batched products', async () => {
    const inputs = [randomInput([3, 6, 8], 21), randomInput([3, 5, 8], 22), randomInput([3, 6, 5], 23)];
    const grads = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), w)))([a, b]);
    const got = await runOn('native', inputs, grads);
    const want = await runOn('cpu', inputs, grads);
    got.forEach((g, i) => expect(worstError(g.values, want[i].values, atolFor(18), 1e-5)).toBeLessThanOrEqual(1));
  });

  it('takes operands that live on another backend (moved onto the heap, which may grow, before it is read)', async () => {
    const { enableNativeKernels, disableNativeKernels } = await import('../index.js');
    await tf.setBackend('cpu');
    const a = tf.tensor(randomInput([1024, 8192], 5).values as Float32Array, [1024, 8192]);   // 32 MB
    const b = tf.tensor(randomInput([16, 8192], 6).values as Float32Array, [16, 8192]);
    const want = tf.matMul(a, b, false, true).dataSync();
    await tf.setBackend('wasm');
    enableNativeKernels({ logger: { info: () => {}, warn: () => {} } });
    try {
      const c = tf.matMul(a, b, false, true);
      expect(worstError(c.dataSync(), want, atolFor(8192), 1e-5)).toBeLessThanOrEqual(1);
      tf.dispose([a, b, c]);
    } finally {
      disableNativeKernels();
    }
  });

  it('leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    const { enableNativeKernels, disableNativeKernels } = await import('../index.js');
    enableNativeKernels({ logger: { info: () => {}, warn: () => {} } });
    try {
      const a = tf.ones([2, 3, 4]), b = tf.ones([4, 5]);
      const before = tf.memory().numTensors, dataBefore = tf.engine().backend.numDataIds();
      tf.matMul(a, b).dispose();
      tf.matMul(a, b, false, false).dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(tf.engine().backend.numDataIds()).toBe(dataBefore);
      tf.dispose([a, b]);
    } finally {
      disableNativeKernels();
    }
  });
});
