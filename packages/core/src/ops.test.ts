import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger } from '@distillery/core';
import { embeddingLookup, hardLabelLoss } from '@distillery/core/kit';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5, abs = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.abs(expected[i]) + abs;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Float64 cross-entropy: mean over rows of logsumexp(z) − z[y] (max-shifted). */
function refCrossEntropy(logits: number[][], labels: number[]): number {
  let total = 0;
  logits.forEach((z, i) => {
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
    total += lse - z[labels[i]];
  });
  return total / logits.length;
}

/** Float64 gradient of the mean cross-entropy: (softmax(z) − onehot(y)) / B. */
function refCrossEntropyGrad(logits: number[][], labels: number[]): number[] {
  return logits.flatMap((z, i) => {
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x, c) => (x / s - (c === labels[i] ? 1 : 0)) / logits.length);
  });
}

describe('hardLabelLoss', () => {
  const logits = [[2, -1, 0.5], [0.1, 0.2, 0.3], [-3, 4, 1], [1, 1, 1]];
  const labels = [0, 2, 1, 1];

  it('cross-entropy with class ids equals a float64 reference (mean over rows)', () => {
    const loss = hardLabelLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
    expect(loss.rank).toBe(0);
    expectClose([loss.dataSync()[0]], [refCrossEntropy(logits, labels)]);
    loss.dispose();
  });

  it('hand check: uniform logits over 3 classes give ln 3', () => {
    const loss = hardLabelLoss(tf.tensor2d([[1, 1, 1], [0, 0, 0]]), tf.tensor1d([2, 0], 'int32'));
    expectClose([loss.dataSync()[0]], [Math.log(3)]);
  });

  it('is stable for large logits: CE of [100, −100] with label 1 is 200', () => {
    const loss = hardLabelLoss(tf.tensor2d([[100, -100]]), tf.tensor1d([1], 'int32'));
    expectClose([loss.dataSync()[0]], [200]);
  });

  it('float32 labels holding class ids are accepted', () => {
    const loss = hardLabelLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'float32'));
    expectClose([loss.dataSync()[0]], [refCrossEntropy(logits, labels)]);
  });

  it('its gradient is (softmax − onehot) / B', () => {
    const y = tf.tensor1d(labels, 'int32');
    const g = tf.grad((z: tf.Tensor) => hardLabelLoss(z, y))(tf.tensor2d(logits));
    expectClose(g.dataSync(), refCrossEntropyGrad(logits, labels));
  });

  it('a one-column head is regression: MSE against float targets', () => {
    // ((0.5 − 1)² + (2 − 0)² + (−1 − (−1))² + (0.25 − 0.75)²) / 4 = (0.25 + 4 + 0 + 0.25) / 4 = 1.125.
    const loss = hardLabelLoss(tf.tensor2d([[0.5], [2], [-1], [0.25]]), tf.tensor1d([1, 0, -1, 0.75]));
    expectClose([loss.dataSync()[0]], [1.125]);
  });

  it('mismatched shapes fail naming both shapes and the caller', () => {
    let error: unknown;
    try { hardLabelLoss(tf.tensor2d(logits), tf.tensor1d([0, 1], 'int32'), 'hinton'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as Error).message).toContain('hinton');
    expect((error as Error).message).toContain('[4, 3]');
    expect((error as Error).message).toContain('[2]');
    expect(() => hardLabelLoss(tf.tensor1d([1, 2]), tf.tensor1d([0, 1], 'int32'))).toThrow(DistilleryError);
    expect(() => hardLabelLoss(tf.tensor2d(logits), tf.tensor2d([[0], [1], [0], [1]], undefined, 'int32'))).toThrow(/\[4, 1\]/);
  });

  it('leaks nothing besides the returned scalar', () => {
    const z = tf.tensor2d(logits);
    const y = tf.tensor1d(labels, 'int32');
    const r = tf.tensor2d([[0.5], [2], [-1], [0.25]]);
    const t = tf.tensor1d([1, 0, -1, 0.75]);
    const before = tf.memory().numTensors;
    const a = hardLabelLoss(z, y);
    const b = hardLabelLoss(r, t);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([a, b, z, y, r, t]);
  });
});

describe('hardLabelLoss with hidden labels (-100)', () => {
  const logits = [[2, -1, 0.5], [0.1, 0.2, 0.3], [-3, 4, 1], [1, 1, 1]];
  // Rows 1 and 3 hidden: the term is the cross-entropy of rows 0 and 2 only, mean over those 2.
  const labels = [0, -100, 1, -100];
  const shown = [0, 2];

  it('half the labels hidden: the cross-entropy of the labelled half (float64 reference)', () => {
    const loss = hardLabelLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
    const expected = refCrossEntropy(shown.map((i) => logits[i]), shown.map((i) => labels[i]));
    expectClose([loss.dataSync()[0]], [expected]);
    // float32 labels (e.g. a source that stores ids as floats) take -100 the same way.
    expectClose([hardLabelLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'float32')).dataSync()[0]], [expected]);
  });

  it('the gradient of a hidden row is exactly 0; labelled rows get (softmax − onehot) / (labelled rows)', () => {
    const y = tf.tensor1d(labels, 'int32');
    const g = tf.grad((z: tf.Tensor) => hardLabelLoss(z, y))(tf.tensor2d(logits)).arraySync() as number[][];
    for (const row of [1, 3]) for (const v of g[row]) expect(v === 0).toBe(true);
    const ref = refCrossEntropyGrad(shown.map((i) => logits[i]), shown.map((i) => labels[i]));
    expectClose([...g[0], ...g[2]], ref);
  });

  it('every label hidden: 0, not NaN, with a zero gradient', () => {
    const y = tf.tensor1d([-100, -100, -100, -100], 'int32');
    const loss = hardLabelLoss(tf.tensor2d(logits), y);
    expect(loss.dataSync()[0]).toBe(0);
    const g = tf.grad((z: tf.Tensor) => hardLabelLoss(z, y))(tf.tensor2d(logits)).dataSync();
    expect(Array.from(g).every((v) => v === 0)).toBe(true);
    const r = tf.grad((z: tf.Tensor) => hardLabelLoss(z, tf.tensor1d([-100, -100])))(tf.tensor2d([[0.5], [2]])).dataSync();
    expect(Array.from(r)).toEqual([0, 0]);
  });

  it('a regression head leaves out targets of -100: MSE of the other rows', () => {
    // Rows 0 and 3: ((0.5 − 1)² + (0.25 − 0.75)²) / 2 = (0.25 + 0.25) / 2 = 0.25.
    const z = tf.tensor2d([[0.5], [2], [-1], [0.25]]);
    const t = tf.tensor1d([1, -100, -100, 0.75]);
    expectClose([hardLabelLoss(z, t).dataSync()[0]], [0.25]);
    const g = tf.grad((x: tf.Tensor) => hardLabelLoss(x, t))(z).dataSync();
    // d/dz of the mean over the 2 kept rows: (z − t) · 2 / 2; hidden rows 0.
    expectClose(g, [0.5 - 1, 0, 0, 0.25 - 0.75]);
    expect(g[1] === 0 && g[2] === 0).toBe(true);
  });

  it('accepts -100 as the only negative id; other ids outside the head still fail', () => {
    expect(() => hardLabelLoss(tf.tensor2d(logits), tf.tensor1d([0, -99, 1, 2], 'int32'), 'hinton'))
      .toThrow('hinton: labels[1] = -99 is not a class id of a 3-class head (expected an integer in 0..2, or -100 for a hidden label)');
    expect(() => hardLabelLoss(tf.tensor2d(logits), tf.tensor1d([-100, 3, 1, 2], 'int32'))).toThrow(/labels\[1\] = 3/);
  });

  it('leaks nothing besides the returned scalar, also when every label is hidden', () => {
    const z = tf.tensor2d(logits);
    const half = tf.tensor1d(labels, 'int32');
    const none = tf.tensor1d([-100, -100, -100, -100], 'int32');
    const r = tf.tensor2d([[0.5], [2], [-1], [0.25]]);
    const t = tf.tensor1d([1, -100, -100, 0.75]);
    const before = tf.memory().numTensors;
    const out = [hardLabelLoss(z, half), hardLabelLoss(z, none), hardLabelLoss(r, t)];
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([...out, z, half, none, r, t]);
  });
});

describe('embeddingLookup', () => {
  // Vocabulary 5, width 3: row v is [v + 0.1, −v, 10·v + 0.5].
  const V = 5, H = 3;
  const tableValues = Array.from({ length: V }, (_, v) => [v + 0.1, -v, 10 * v + 0.5]);
  // ids [2, 3] with id 1 three times, id 2 never.
  const ids = [[1, 3, 1], [0, 4, 1]];
  const flatIds = ids.flat();
  // Weights for the gradient check: a distinct value for every output element.
  const weights = flatIds.flatMap((_, p) => [0.5 + p, -0.25 * p, (p % 3) - 1.5]);

  it('forward: [...ids.shape, H] holding the gathered rows', () => {
    const out = tf.tidy(() => embeddingLookup(tf.tensor2d(tableValues), tf.tensor2d(ids, undefined, 'int32')));
    expect(out.shape).toEqual([2, 3, H]);
    expectClose(out.dataSync(), flatIds.flatMap((v) => tableValues[v]), 1e-7, 0);
    out.dispose();
  });

  it('accepts float ids and 1-D ids', () => {
    const out = tf.tidy(() => embeddingLookup(tf.tensor2d(tableValues), tf.tensor1d([4, 0, 4], 'float32')));
    expect(out.shape).toEqual([3, H]);
    expectClose(out.dataSync(), [4, 0, 4].flatMap((v) => tableValues[v]), 1e-7, 0);
    out.dispose();
  });

  it('gradient of sum(lookup · w) is a scatter-add of w over the ids (repeated ids summed)', () => {
    // Float64 reference: grad[v][h] = Σ over positions p with ids[p] = v of w[p][h].
    const ref = new Float64Array(V * H);
    flatIds.forEach((v, p) => { for (let h = 0; h < H; h++) ref[v * H + h] += weights[p * H + h]; });
    // By hand for id 1 (positions 0, 2, 5), column 0: 0.5 + 2.5 + 5.5 = 8.5; id 2 gets zeros.
    expect(ref[1 * H + 0]).toBe(8.5);
    expect(Array.from(ref.subarray(2 * H, 3 * H))).toEqual([0, 0, 0]);

    const table = tf.tensor2d(tableValues);
    const idTensor = tf.tensor2d(ids, undefined, 'int32');
    const w = tf.tensor3d(weights, [2, 3, H]);
    const before = tf.memory().numTensors;
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, idTensor), w)))(table);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(grad.shape).toEqual([V, H]);
    expectClose(grad.dataSync(), ref);
    tf.dispose([grad, table, idTensor, w]);
  });

  it('gradient through a variable with tf.variableGrads (the training path)', () => {
    const table = tf.tidy(() => tf.variable(tf.tensor2d(tableValues), true, 'ops-test/embedding'));
    const idTensor = tf.tensor1d([3, 3, 3, 0], 'int32');
    // f = Σ lookup² → df/dtable[v] = Σ over occurrences of 2·table[v] = 2·count(v)·table[v].
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(embeddingLookup(table, idTensor))) as tf.Scalar, [table]);
    const ref = tableValues.flatMap((row, v) => row.map((x) => 2 * [3, 3, 3, 0].filter((i) => i === v).length * x));
    expectClose(grads[table.name].dataSync(), ref);
    const refValue = [3, 3, 3, 0].reduce((s, v) => s + tableValues[v].reduce((a, x) => a + x * x, 0), 0);
    expectClose([value.dataSync()[0]], [refValue]);
    tf.dispose([value, grads[table.name], table, idTensor]);
  });

  it('leaks nothing inside tf.tidy over repeated forward + backward passes', () => {
    const table = tf.tensor2d(tableValues);
    const idTensor = tf.tensor2d(ids, undefined, 'int32');
    const w = tf.tensor3d(weights, [2, 3, H]);
    const f = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, idTensor), w)));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => { f(table); embeddingLookup(table, idTensor); });
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([table, idTensor, w]);
  });
});
