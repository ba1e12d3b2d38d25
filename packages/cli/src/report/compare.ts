import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch, evaluate, type BatchSource, type Feature, type Teacher } from '@distillery/core';
import { BertModel } from '@distillery/models';
import type { CompareRow } from '../metrics-log.js';

/** What compareModels measures. */
export interface CompareInput {
  teacher?: Teacher;
  student: Teacher;
  /** Labelled data for accuracy/macro-F1/MCC; without it only size and speed are measured. */
  validation?: BatchSource;
  /** Batches for the speed measurement when there is no validation data. */
  train: BatchSource;
  batchSize: number;
  /** Timed batches after one warm-up batch. @default 3 */
  batches?: number;
}

/**
 * Scalar parameters of a model: its parameterCount(), else the sum of its trainable variables,
 * else (a frozen BERT view) the BertModel behind it; undefined when the model does not say.
 */
export function countParameters(model: Teacher): number | undefined {
  const m = model as Teacher & { parameterCount?: () => number; trainableVariables?: tf.Variable[] };
  if (typeof m.parameterCount === 'function') return m.parameterCount();
  if (Array.isArray(m.trainableVariables)) return m.trainableVariables.reduce((n, v) => n + v.size, 0);
  return BertModel.unwrap(model)?.parameterCount();
}

/** Examples per second of inference forwards (the features a classifier serves: logits, else the first it emits). */
export function measureThroughput(model: Teacher, source: BatchSource, batchSize: number, batches = 3): number {
  const features = new Set<Feature>([model.emits.has('logits') ? 'logits' : [...model.emits][0]]);
  const size = Math.min(batchSize, source.size);
  const indices = (k: number) => Array.from({ length: size }, (_, i) => (k * size + i) % source.size);
  const run = (k: number) => {
    const batch = source.batch(indices(k));
    try {
      const out = tf.tidy(() => {
        const outputs = model.forward(batch, features);
        const first = Object.values(outputs)[0] as tf.Tensor | tf.Tensor[];
        // Reading one value forces the whole forward to finish on asynchronous backends.
        return tf.slice(tf.reshape(Array.isArray(first) ? first[first.length - 1] : first, [-1]), 0, 1);
      });
      out.dataSync();
      out.dispose();
    } finally {
      disposeBatch(batch);
    }
  };
  run(0);
  const started = performance.now();
  for (let k = 1; k <= batches; k++) run(k);
  const seconds = (performance.now() - started) / 1000;
  return seconds > 0 ? (batches * size) / seconds : Number.POSITIVE_INFINITY;
}

function measure(role: CompareRow['role'], model: Teacher, input: CompareInput): CompareRow {
  const row: CompareRow = { role, model: model.name };
  const notes: string[] = [];
  const parameters = countParameters(model);
  if (parameters !== undefined) row.parameters = parameters;
  const cached = model.name.startsWith('cached(');
  if (cached) notes.push('outputs read from a teacher cache: not measured');
  if (input.validation && !cached) {
    try {
      row.metrics = evaluate(model, input.validation, input.batchSize);
    } catch (error) {
      notes.push(`not evaluated: ${(error as Error).message}`);
    }
  } else if (!input.validation) {
    notes.push('no validation data');
  }
  if (!cached) {
    try {
      row.examplesPerSecond = measureThroughput(model, input.validation ?? input.train, input.batchSize, input.batches);
    } catch (error) {
      notes.push(`speed not measured: ${(error as Error).message}`);
    }
  }
  if (notes.length) row.note = notes.join('; ');
  return row;
}

/** The teacher and student rows of the report's table: parameters, validation metrics, inference speed. */
export function compareModels(input: CompareInput): CompareRow[] {
  return [
    ...(input.teacher ? [measure('teacher', input.teacher, input)] : []),
    measure('student', input.student, input),
  ];
}
