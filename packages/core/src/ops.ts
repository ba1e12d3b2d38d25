import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { shapeText } from './internals/checks.js';

/**
 * Cross-entropy of logits [B, C] against int32 class ids [B], mean over rows (T = 1);
 * when C = 1 the head is a regression head and this is the MSE against float targets.
 */
export function hardLabelLoss(logits: tf.Tensor, labels: tf.Tensor, who = 'hard-label'): tf.Scalar {
  return tf.tidy(() => {
    if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
      throw new DistilleryError(
        `${who}: logits ${shapeText(logits.shape)} and labels ${shapeText(labels.shape)} do not fit ` +
        `(expected logits [B, C] and labels [B])`, 'shape');
    }
    const classes = logits.shape[1] as number;
    if (classes === 1) {
      return tf.mean(tf.squaredDifference(tf.reshape(logits, [-1]), tf.cast(labels, 'float32'))) as tf.Scalar;
    }
    // A class id outside [0, C) would become an all-zero one-hot row and add nothing, silently.
    const ids = labels.dataSync();
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= classes) {
        throw new DistilleryError(
          `${who}: labels[${i}] = ${ids[i]} is not a class id of a ${classes}-class head (expected an integer in 0..${classes - 1})`,
          'shape');
      }
    }
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), classes), logProbs), -1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
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
