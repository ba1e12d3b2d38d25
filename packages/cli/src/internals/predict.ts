import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch, DistilleryError, type BatchSource, type Feature, type Teacher } from '@distillery/core';

const LOGITS: ReadonlySet<Feature> = new Set(['logits']);

/** What a model says about every row of a labelled source, in order. */
export interface Predictions {
  /** The head has one output (float targets). */
  regression: boolean;
  /** Width of the head (1 for regression). */
  numClasses: number;
  /** Class id (argmax of the logits, as core's evaluate() takes it) or the predicted value. */
  predicted: number[];
  /** The batch labels (-100 where hidden). */
  labels: number[];
  /** softmax of the logits, one row per example (classification only). */
  probabilities: Float32Array[];
}

/**
 * Runs the model over a labelled source batch by batch: core's evaluate() loop, keeping every row's
 * prediction and class probabilities for the per-class report and the predictions file.
 */
export function predict(model: Teacher, source: BatchSource, batchSize: number): Predictions {
  const out: Predictions = { regression: false, numClasses: 0, predicted: [], labels: [], probabilities: [] };
  for (let start = 0; start < source.size; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i);
    const batch = source.batch(indices);
    try {
      if (!batch.labels) throw new DistilleryError(`eval: the evaluation batches have no labels`, 'config');
      const [predicted, probabilities] = tf.tidy(() => {
        const logits = model.forward(batch, LOGITS).logits;
        if (!logits) throw new DistilleryError(`eval: model ${model.name} returned no logits`, 'feature');
        out.numClasses = logits.shape[1] as number;
        out.regression = out.numClasses === 1;
        return out.regression ? [tf.reshape(logits, [-1])] : [tf.argMax(logits, -1), tf.softmax(logits)];
      });
      out.predicted.push(...predicted.dataSync());
      out.labels.push(...batch.labels.dataSync());
      if (probabilities) {
        const p = probabilities.dataSync() as Float32Array;
        for (let r = 0; r < indices.length; r++) out.probabilities.push(p.slice(r * out.numClasses, (r + 1) * out.numClasses));
      }
      tf.dispose([predicted, probabilities]);
    } finally {
      disposeBatch(batch);
    }
  }
  return out;
}
