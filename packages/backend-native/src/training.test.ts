// End to end: a tiny encoder-style classifier (embedding, attention with transposed batched products,
// GELU, layer norm, bias gradients, AdamW) trained for 10 steps gives the same losses with and
// without the native kernels.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from '@distillery/core';
import { embeddingLookup, hardLabelLoss, linear } from '@distillery/core/kit';
import { expect, it } from 'vitest';
import { disableNativeKernels, enableNativeKernels } from './index.js';
import { describeNative, randomValues } from './kernels.test-util.js';

const B = 4, S = 16, H = 32, A = 2, F = 64, V = 50, C = 3;

function train(steps: number): { losses: number[]; tensorsPerStep: number[] } {
  let seed = 1;
  const param = (shape: number[], scale: number) =>
    tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed++).map((v) => v * scale), shape));
  const emb = param([V, H], 0.5);
  const [wq, wk, wv, wo] = [0, 1, 2, 3].map(() => param([H, H], 0.3));
  const w1 = param([H, F], 0.3), w2 = param([F, H], 0.2), head = param([H, C], 0.3);
  const [b1, b2, gamma] = [param([F], 0.1), param([H], 0.1), param([H], 0.1)];
  const vars = [emb, wq, wk, wv, wo, w1, w2, head, b1, b2, gamma];
  const optimizer = new AdamW(vars, { weightDecay: 0.01 });
  const ids = tf.tensor2d(Int32Array.from(randomValues(B * S, 99), (v) => Math.floor((v + 1) * 25) % V), [B, S], 'int32');
  const labels = tf.tensor1d([0, 1, 2, 1], 'int32');

  const loss = () => {
    const x = embeddingLookup(emb as tf.Variable as tf.Tensor2D, ids);                        // [B, S, H]
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, S, A, H / A]), [0, 2, 1, 3]);
    const q = heads(linear(x, wq as tf.Tensor as tf.Tensor2D)), k = heads(linear(x, wk as tf.Tensor as tf.Tensor2D));
    const v = heads(linear(x, wv as tf.Tensor as tf.Tensor2D));
    const probs = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(H / A)));      // transposeB
    const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B, S, H]);
    const h = tf.add(x, linear(ctx, wo as tf.Tensor as tf.Tensor2D));
    const centered = tf.sub(h, tf.mean(h, -1, true));
    const normed = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), 1e-5))), tf.add(gamma, 1));
    const inner = linear(normed, w1 as tf.Tensor as tf.Tensor2D, b1 as tf.Tensor as tf.Tensor1D);
    const gelu = tf.mul(tf.mul(inner, 0.5), tf.add(tf.erf(tf.mul(inner, Math.SQRT1_2)), 1));
    const out = tf.add(normed, linear(gelu, w2 as tf.Tensor as tf.Tensor2D, b2 as tf.Tensor as tf.Tensor1D));
    return hardLabelLoss(linear(tf.mean(out, 1), head as tf.Tensor as tf.Tensor2D), labels);
  };

  const losses: number[] = [], tensorsPerStep: number[] = [];
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(loss, vars);
    optimizer.applyGradients(grads, 1e-2);
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
    tensorsPerStep.push(tf.memory().numTensors);
  }
  tf.dispose([...vars, ids, labels, ...optimizer.getState().m, ...optimizer.getState().v]);
  return { losses, tensorsPerStep };
}

describeNative('training with native kernels', () => {
  it('gives the same losses over 10 steps (to 1e-4) as the plain wasm kernels, with flat live tensors', async () => {
    await tf.setBackend('wasm');
    disableNativeKernels();
    const plain = train(10);
    const { replaced } = enableNativeKernels({ logger: { info: () => {}, warn: () => {} } });
    try {
      expect(replaced).toContain('BatchMatMul');
      const fast = train(10);
      fast.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i]), `step ${i + 1}: ${l} vs ${plain.losses[i]}`).toBeLessThan(1e-4));
      expect(plain.losses[9]).toBeLessThan(plain.losses[0]);
      expect(new Set(fast.tensorsPerStep.slice(1)).size).toBe(1);
    } finally {
      disableNativeKernels();
    }
  });
});
