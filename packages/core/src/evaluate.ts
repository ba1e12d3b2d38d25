import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch } from './data.js';
import { DistilleryError } from './errors.js';
import { classificationMetrics, meanSquaredError } from './metrics.js';
import type { MetricName } from './stage.js';
import type { BatchSource, Feature, Teacher } from './types.js';

const LOGITS: ReadonlySet<Feature> = new Set(['logits']);

/** Whether a larger value of the metric is better (not for 'mse' and 'loss'). */
export const higherIsBetter = (metric: MetricName): boolean => metric !== 'mse' && metric !== 'loss';

/**
 * Evaluates a model's logits on a labelled source, in order, batch by batch: accuracy, macro F1
 * and MCC for a classification head, MSE for a one-output regression head.
 */
export function evaluate(model: Teacher, source: BatchSource, batchSize = 64): Record<string, number> {
  const predictions: number[] = [];
  const labels: number[] = [];
  let regression = false;
  for (let start = 0; start < source.size; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i);
    const batch = source.batch(indices);
    try {
      if (!batch.labels) throw new DistilleryError(`evaluate: the evaluation batches have no labels`, 'config');
      const out = tf.tidy(() => {
        const logits = model.forward(batch, LOGITS).logits;
        if (!logits) throw new DistilleryError(`evaluate: model ${model.name} returned no logits`, 'feature');
        regression = logits.shape[1] === 1;
        return regression ? tf.reshape(logits, [-1]) : tf.argMax(logits, -1);
      });
      predictions.push(...out.dataSync());
      labels.push(...batch.labels.dataSync());
      out.dispose();
    } finally {
      disposeBatch(batch);
    }
  }
  if (regression) return { mse: meanSquaredError(predictions, labels) };
  return { ...classificationMetrics(predictions, labels) };
}
