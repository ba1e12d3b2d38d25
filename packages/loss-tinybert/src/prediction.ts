import * as tf from '@tensorflow/tfjs-core';
import { type Feature, type LossResult } from '@distillery/core';
import { assertRank, assertSameShape, requireFeature } from '@distillery/core/kit';
import type { TinybertLoss } from './tinybert-loss.js';

const PREDICTION: ReadonlySet<Feature> = new Set(['logits']);

/**
 * TinyBERT's prediction stage: mean over B·C of −p_t^T · log p_s^T, with no T² (the reference's
 * `soft_cross_entropy(z_s / T, z_t / T)`, an elementwise mean); MSE against the teacher for a one-output head.
 */
export function predictionLoss(who: string, T: number): TinybertLoss {
  return {
    name: who,
    teacherFeatures: PREDICTION,
    studentFeatures: PREDICTION,
    variables: [],
    compute({ teacher, student }): LossResult {
      const zt = requireFeature(teacher.logits, { who, feature: 'logits', model: 'teacher' });
      const zs = requireFeature(student.logits, { who, feature: 'logits', model: 'student' });
      assertRank(zt, 2, { who, feature: 'logits', model: 'teacher' });
      assertRank(zs, 2, { who, feature: 'logits', model: 'student' });
      assertSameShape(zt, zs, { who, feature: 'logits' });
      return tf.tidy(() => {
        const prediction = (zs.shape[1] === 1
          ? tf.mean(tf.squaredDifference(zs, zt))
          : tf.neg(tf.mean(tf.mul(tf.softmax(tf.div(zt, T)), tf.logSoftmax(tf.div(zs, T)))))) as tf.Scalar;
        return { total: prediction, terms: { prediction } };
      });
    },
    dispose() {},
  };
}
