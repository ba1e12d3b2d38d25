import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { shapeText } from './internals/checks.js';

/** A row's label when it is hidden (partly labelled data): as mlmLabels' ignore value and torch's ignore_index. */
const HIDDEN = -100;

/**
 * Cross-entropy of logits [B, C] against int32 class ids [B], mean over rows (T = 1);
 * when C = 1 the head is a regression head and this is the MSE against float targets.
 * Rows whose label is -100 (hidden, also for float targets) are left out: the mean is over the
 * labelled rows, and a batch without any labelled row gives 0 (gradient 0), never NaN.
 */
export function hardLabelLoss(logits: tf.Tensor, labels: tf.Tensor, who = 'hard-label'): tf.Scalar {
  return tf.tidy(() => {
    if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
      throw new DistilleryError(
        `${who}: logits ${shapeText(logits.shape)} and labels ${shapeText(labels.shape)} do not fit ` +
        `(expected logits [B, C] and labels [B])`, 'shape');
    }
    const classes = logits.shape[1] as number;
    const values = labels.dataSync();
    const keep = new Float32Array(values.length);
    let labelled = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== HIDDEN) { keep[i] = 1; labelled++; }
    const hidden = labelled < values.length;
    if (classes === 1) {
      const squared = tf.squaredDifference(tf.reshape(logits, [-1]), tf.cast(labels, 'float32'));
      // A fully labelled batch keeps the plain mean, so its numbers stay exactly those of before.
      return (hidden ? labelledMean(squared, keep, labelled) : tf.mean(squared)) as tf.Scalar;
    }
    // A class id outside [0, C) would become an all-zero one-hot row and add nothing, silently.
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== HIDDEN && (!Number.isInteger(values[i]) || values[i] < 0 || values[i] >= classes)) {
        throw new DistilleryError(
          `${who}: labels[${i}] = ${values[i]} is not a class id of a ${classes}-class head ` +
          `(expected an integer in 0..${classes - 1}, or ${HIDDEN} for a hidden label)`, 'shape');
      }
    }
    const logProbs = tf.logSoftmax(logits);
    if (!hidden) {
      const picked = tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), classes), logProbs), -1);
      return tf.neg(tf.mean(picked)) as tf.Scalar;
    }
    // Hidden rows pick class 0 and are then multiplied by 0: their gradient is exactly 0.
    const ids = Int32Array.from(values, (v) => (v === HIDDEN ? 0 : v));
    const picked = tf.sum(tf.mul(tf.oneHot(tf.tensor1d(ids, 'int32'), classes), logProbs), -1);
    return labelledMean(tf.neg(picked), keep, labelled);
  });
}

/** Σ(x · keep) / max(labelled, 1): the mean over the kept rows, 0 (not NaN) when there is none. */
function labelledMean(x: tf.Tensor, keep: Float32Array, labelled: number): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, tf.tensor1d(keep))), Math.max(labelled, 1)) as tf.Scalar;
}

/**
 * Looks rows of `table` [V, H] up by integer `ids` (any shape), giving [...ids.shape, H].
 * Its gradient is a scatter over the ids: tf.gather's own gradient is missing on the wasm
 * backend and pathologically slow on cpu (see DESIGN.md).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  // Intermediates are left to the caller's tf.tidy: disposing them here would break the tape.
  const [vocab, width] = table.shape;
  const flatIds = tf.reshape(tf.cast(ids, 'int32'), [-1]) as tf.Tensor1D;
  const lookup = tf.customGrad((t, i, save) => {
    (save as tf.GradSaveFunc)([i as tf.Tensor]);
    return {
      value: tf.gather(t as tf.Tensor2D, i as tf.Tensor1D),
      gradFunc: (dy, saved) => {
        const idx = tf.reshape(saved[0], [-1, 1]);
        return [tf.scatterND(idx, dy as tf.Tensor2D, [vocab, width]), tf.zerosLike(saved[0])];
      },
    };
  });
  return tf.reshape(lookup(table, flatIds), [...ids.shape, width]);
}

/**
 * a [M, K] × b [K, N] whose gradients are plain matrix products over explicit transposes:
 * the wasm backend's matMul is fast only for non-transposed operands (see DESIGN.md), and
 * tfjs's own gradient uses transposeA/transposeB.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((x, y, save) => {
    (save as tf.GradSaveFunc)([x as tf.Tensor, y as tf.Tensor]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy, saved) => {
        const [sx, sy] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sy)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)];
      },
    };
  });
  return op(a, b) as tf.Tensor2D;
}

/** x [..., in] · w [in, out] (+ b [out]) → [..., out], through matMul2d. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inSize = x.shape[x.rank - 1];
  if (inSize !== w.shape[0]) {
    throw new DistilleryError(`linear: input ${shapeText(x.shape)} does not fit weight ${shapeText(w.shape)}`, 'shape');
  }
  const flat = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inSize]) as tf.Tensor2D);
  let y: tf.Tensor = matMul2d(flat, w);
  if (b) y = tf.add(y, b);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]]);
}

/**
 * The masked tokens of a batch's mlmLabels [B, S]: their row-major flat indices (example · S + position) and
 * labels, in the order of the `mlmMaskedLogits` feature's rows. Reads the labels (a dataSync).
 */
export function maskedTokens(mlmLabels: tf.Tensor): { positions: Int32Array; labels: Int32Array } {
  const ids = mlmLabels.dataSync();
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== -100) n++;
  const positions = new Int32Array(n), labels = new Int32Array(n);
  for (let i = 0, k = 0; i < ids.length; i++) {
    if (ids[i] !== -100) { positions[k] = i; labels[k++] = ids[i]!; }
  }
  return { positions, labels };
}
