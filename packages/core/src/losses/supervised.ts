import * as z from 'zod';
import { DistilleryError } from '../errors.js';
import { hardLabelLoss } from '../ops.js';
import { defineLossPlugin } from '../plugins.js';
import type { DistillationLoss, Feature } from '../types.js';

const none: ReadonlySet<Feature> = new Set();
const logits: ReadonlySet<Feature> = new Set(['logits']);

/**
 * Plain supervised training: cross-entropy of the student's logits with the labels (mean over rows),
 * MSE for a one-output regression head. Needs no teacher: a stage with only this loss fine-tunes a model.
 * Rows whose label is -100 (hidden) are left out (hardLabelLoss); a batch with none labelled gives 0.
 */
export function supervisedLoss(): DistillationLoss {
  return {
    name: 'supervised',
    teacherFeatures: none,
    studentFeatures: logits,
    variables: [],
    compute({ student, batch }) {
      if (!batch.labels) throw new DistilleryError(`supervised: the batch has no labels`, 'config');
      if (!student.logits) throw new DistilleryError(`supervised: feature 'logits' missing from the student outputs`, 'feature');
      const hard = hardLabelLoss(student.logits, batch.labels, 'supervised');
      return { total: hard, terms: { hard } };
    },
  };
}

/** The 'supervised' loss plugin (no options). */
export const supervised = defineLossPlugin({
  name: 'supervised', options: z.strictObject({}), create: () => supervisedLoss(),
});
