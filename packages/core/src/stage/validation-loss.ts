import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch } from '../data.js';
import type { BatchSource, LossContext, ModelOutputs, Student, Teacher } from '../types.js';
import type { StageSetup } from './setup.js';

/**
 * The stage's objective, Σ weight·loss, on a source read in order without gradient or dropout (the
 * teacher runs when the losses read it): the mean over examples of each batch's value, batches
 * weighted by their size. `step` is what the losses see as LossContext.step.
 */
export function validationLoss(
  setup: Pick<StageSetup, 'losses' | 'env' | 'teacherFeatures' | 'studentFeatures'>,
  models: { teacher?: Teacher; student: Student }, source: BatchSource, batchSize: number, step: number,
): number {
  const { losses, env, teacherFeatures, studentFeatures } = setup;
  const { teacher, student } = models;
  let sum = 0;
  for (let start = 0; start < source.size; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i);
    const batch = source.batch(indices);
    try {
      const total = tf.tidy(() => {
        const teacherOut: ModelOutputs = teacher && teacherFeatures.size ? teacher.forward(batch, teacherFeatures) : {};
        const ctx: LossContext = {
          teacher: teacherOut, student: student.forward(batch, studentFeatures), batch,
          teacherInfo: env.teacherInfo, studentInfo: env.studentInfo, step,
        };
        return tf.addN(losses.map(({ weight, loss }) => tf.mul(loss.compute(ctx).total, weight))) as tf.Scalar;
      });
      sum += total.dataSync()[0] * indices.length;
      total.dispose();
    } finally {
      disposeBatch(batch);
    }
  }
  return sum / source.size;
}
