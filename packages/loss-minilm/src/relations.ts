import * as tf from '@tensorflow/tfjs-core';

/**
 * The additive key mask of the reference (PaddleNLP `examples/model_compression/minilmv2/general_distill.py`:
 * `(input_ids == pad) * -1e9`, unsqueezed to [B, 1, 1, S]). It is added to every score row, so padded keys get
 * zero probability; padded query rows are left in. The value is large enough that adding it to scores a model
 * already masked (BERT's −10000) changes no probability of a real key.
 */
export const KEY_MASK = -1e9;

/** The batch's attention mask [B, S] as a float key mask [B, 1, 1, S]: 1 = token, 0 = padding. */
export function keyMask(attentionMask: tf.Tensor): tf.Tensor4D {
  const [b, s] = attentionMask.shape;
  return tf.reshape(tf.cast(attentionMask, 'float32'), [b, 1, 1, s]) as tf.Tensor4D;
}

/**
 * Σ over batch, heads and query rows of KL( softmax(z_t + mask) ‖ softmax(z_s + mask) ), for scores
 * [B, R, S, S] and a key mask [B, 1, 1, S]. Both distributions come from logSoftmax, never from the log of a
 * probability. At a padded key p_t is 0; the term is multiplied by the mask so it is exactly 0 (0·log 0 = 0)
 * rather than 0 times a difference of two −1e9 log-probabilities.
 */
export function maskedKlSum(zt: tf.Tensor, zs: tf.Tensor, keep: tf.Tensor4D): tf.Scalar {
  const additive = tf.mul(tf.sub(1, keep), KEY_MASK);
  const logPt = tf.logSoftmax(tf.add(zt, additive));
  const logPs = tf.logSoftmax(tf.add(zs, additive));
  return tf.sum(tf.mul(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), keep)) as tf.Scalar;
}

/**
 * Scaled dot-product self-relation of each head: x [B, R, S, d] → x·xᵀ/√d, [B, R, S, S]. The transpose is
 * explicit: the wasm backend's matMul leaves its fast path for transposed operands (DESIGN.md).
 */
export function selfRelation(x: tf.Tensor): tf.Tensor {
  return tf.div(tf.matMul(x, tf.transpose(x, [0, 1, 3, 2])), Math.sqrt(x.shape[3] as number));
}

/**
 * MiniLMv2's relation heads: concatenates the A heads of x [B, A, S, d] into A·d features per token (head 0
 * first, as the attention output does) and splits them into R equal heads, [B, R, S, A·d/R]. R must divide A·d.
 */
export function splitRelationHeads(x: tf.Tensor, relationHeads: number): tf.Tensor {
  const [b, a, s, d] = x.shape as [number, number, number, number];
  if (relationHeads === a) return x;
  const tokens = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, s, relationHeads, (a * d) / relationHeads]);
  return tf.transpose(tokens, [0, 2, 1, 3]);
}
