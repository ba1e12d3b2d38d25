import * as tf from '@tensorflow/tfjs-core';

/** torch's `cosine_embedding_loss` adds this to each squared norm, so a zero vector gives cos 0, not NaN. */
export const COSINE_EPSILON = 1e-12;

/** Σ(x·w) / max(Σw, 1): a mean over the selected positions that is 0, not NaN, when none is selected. */
export function selectedMean(x: tf.Tensor, weights: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
}

/**
 * KL(softmax(z_t/T) ‖ softmax(z_s/T)) summed over the last axis (the vocabulary or the classes), one value per
 * row: [..., V] → [...]. Both log-probabilities come from logSoftmax; a teacher probability that underflows to
 * 0 multiplies a finite log-ratio, so 0·log 0 never arises.
 */
export function rowKl(zt: tf.Tensor, zs: tf.Tensor, temperature: number): tf.Tensor {
  const logPt = tf.logSoftmax(tf.div(zt, temperature));
  const logPs = tf.logSoftmax(tf.div(zs, temperature));
  return tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1);
}

/**
 * Cross-entropy of the masked positions' logits [N, V] with their labels [N] (torch `CrossEntropyLoss` over the
 * positions whose label is not −100), mean over the N positions; 0 when N is 0. The labels are picked with a
 * one-hot product rather than tf.gather, whose gradient is missing on wasm (DESIGN.md).
 */
export function maskedLmCrossEntropy(logits: tf.Tensor, labels: Int32Array): tf.Scalar {
  const vocab = logits.shape[logits.rank - 1] as number;
  if (labels.length === 0) return tf.mul(tf.sum(logits), 0) as tf.Scalar;
  const picked = tf.sum(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), vocab), tf.logSoftmax(logits)));
  return tf.neg(tf.div(picked, labels.length)) as tf.Scalar;
}

/** 1 − cos(h_s, h_t) per token over the last axis, as torch's `cosine_embedding_loss` with target +1: [B, S, H] → [B, S]. */
export function cosineDistance(hs: tf.Tensor, ht: tf.Tensor): tf.Tensor {
  const dot = tf.sum(tf.mul(hs, ht), -1);
  const norms = tf.mul(tf.add(tf.sum(tf.square(hs), -1), COSINE_EPSILON), tf.add(tf.sum(tf.square(ht), -1), COSINE_EPSILON));
  return tf.sub(1, tf.div(dot, tf.sqrt(norms)));
}
