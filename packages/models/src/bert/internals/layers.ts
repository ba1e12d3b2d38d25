import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@distillery/core/kit';
import type { BertActivation } from '../config.js';

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · gamma + beta, biased variance as in PyTorch. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The activation named by a BertConfig's hidden_act. */
export function activation(x: tf.Tensor, kind: BertActivation): tf.Tensor {
  switch (kind) {
    case 'gelu':
      // Exact GELU, x · Φ(x) with the erf form, as torch.nn.functional.gelu.
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1));
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'relu':
      return tf.relu(x);
  }
}

/**
 * Dropout whose masks depend only on the call's seed and a site label, so a forward pass can be
 * repeated exactly (and a resumed run draws the masks it would have drawn).
 */
export class Dropout {
  constructor(private readonly training: boolean, private readonly seed: number) {}

  /** x with entries zeroed with probability `rate` and the rest scaled by 1 / (1 − rate); x itself when not training. */
  apply(x: tf.Tensor, rate: number, site: string): tf.Tensor {
    if (!this.training || rate === 0) return x;
    return tf.dropout(x, rate, undefined, Rng.derive(this.seed, site).nextUint32());
  }
}

/** x itself in the forward pass; in the backward pass the gradient is multiplied by `mask` (broadcast to x). */
export function maskGradient(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((value, m, save) => {
    (save as tf.GradSaveFunc)([m as tf.Tensor]);
    return {
      value: tf.clone(value as tf.Tensor),
      gradFunc: (dy, saved) => [tf.mul(dy as tf.Tensor, saved[0]), tf.zerosLike(saved[0])],
    };
  });
  return op(x, mask);
}
