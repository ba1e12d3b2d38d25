// What the final table measures of a model: test metrics (per class too), parameters, inference speed.
import * as tf from '@tensorflow/tfjs-core';
import { classificationMetrics, disposeBatch, type BatchSource, type Feature, type Teacher } from '@distillery/core';
import { loadModel, measureThroughput, type BuiltPipeline } from '@distillery/cli';
import { spamAssassin, textBatchSource } from '@distillery/data';
import { BertModel, BiLstmClassifier, bertUncasedTokenizerJson, Tokenizer } from '@distillery/models';
import type { ModelResult } from './types.js';

const LOGITS: ReadonlySet<Feature> = new Set(['logits']);

/** Logits of every example of a labelled source, in order, and the labels. */
export interface Scored {
  /** [N][C] */
  logits: number[][];
  labels: number[];
}

/** Runs the model over the source (inference, no dropout) and keeps its logits. */
export function scoreSource(model: Teacher, source: BatchSource, batchSize = 64): Scored {
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let start = 0; start < source.size; start += batchSize) {
    const batch = source.batch(Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i));
    try {
      if (!batch.labels) throw new Error(`scoreSource: the batches of the evaluation data have no labels`);
      const out = tf.tidy(() => model.forward(batch, LOGITS).logits!.clone());
      const [rows, classes] = out.shape;
      const values = out.dataSync();
      out.dispose();
      for (let r = 0; r < rows; r++) logits.push(Array.from(values.subarray(r * classes, (r + 1) * classes)));
      labels.push(...Array.from(batch.labels.dataSync()));
    } finally {
      disposeBatch(batch);
    }
  }
  return { logits, labels };
}

/** The class with the largest logit after adding `bias` to each (ties: the lower class). */
export const argmax = (row: readonly number[], bias: readonly number[] = []): number =>
  row.reduce((best, x, c) => (x + (bias[c] ?? 0) > row[best] + (bias[best] ?? 0) ? c : best), 0);

/** One class's scores. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Examples of the class in the labels. */
  support: number;
}

/** Test metrics of a classifier. */
export interface Metrics {
  accuracy: number;
  /** Macro F1 over the classes present (core's definition). */
  f1: number;
  mcc: number;
  /** By class id. */
  perClass: ClassScores[];
}

/** Accuracy, macro F1, MCC (core's classificationMetrics) and per-class precision, recall and F1. */
export function metricsOf(predictions: readonly number[], labels: readonly number[], numClasses: number): Metrics {
  const { accuracy, f1, mcc } = classificationMetrics(predictions, labels);
  const perClass = Array.from({ length: numClasses }, (_, c) => {
    let tp = 0, predicted = 0, support = 0;
    for (let i = 0; i < labels.length; i++) {
      if (predictions[i] === c) predicted++;
      if (labels[i] === c) { support++; if (predictions[i] === c) tp++; }
    }
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    return { precision, recall, f1: predicted + support ? (2 * tp) / (predicted + support) : 0, support };
  });
  return { accuracy, f1, mcc, perClass };
}

/** Metrics of scored data, with optional per-class logit offsets (a raised bias). */
export function metricsOfScored(scored: Scored, numClasses: number, bias: readonly number[] = []): Metrics {
  return metricsOf(scored.logits.map((row) => argmax(row, bias)), scored.labels, numClasses);
}

/** Parameters a classifier uses, embeddings apart (a masked-LM head, unused for classification, is left out). */
export interface ParameterCount {
  embeddings: number;
  encoder: number;
  total: number;
}

/** Counts a BERT's or a BiLSTM's weights: embeddings (words, positions, types, their LayerNorm) vs everything else. */
export function countParameterSplit(model: BertModel | BiLstmClassifier): ParameterCount {
  const named = model instanceof BertModel ? model.weights : model.namedWeights();
  let embeddings = 0, encoder = 0;
  for (const [name, v] of named) {
    if (name.startsWith('cls.')) continue;
    if (name.startsWith('bert.embeddings.') || name === 'embedding') embeddings += v.size;
    else encoder += v.size;
  }
  return { embeddings, encoder, total: embeddings + encoder };
}

/** Inference sequences per second over the source (the CLI's measureThroughput: forward to logits, after one warm-up batch). */
export function sequencesPerSecond(model: Teacher, source: BatchSource, batchSize: number, batches?: number): number {
  return measureThroughput(model, source, batchSize, batches ?? Math.max(1, Math.ceil(source.size / batchSize)));
}

/** Inference speed is measured with this batch size for every model. */
export const SPEED_BATCH = 32;

/** The `test` dataset of a built experiment file: where the final table's numbers come from. */
export function testSource(built: BuiltPipeline): BatchSource {
  const test = built.datasets.test?.source;
  if (!test) throw new Error(`${built.file}: has no 'test' dataset for the final table`);
  return test;
}

/** A saved model (a student folder) on test data: name, parameters and metrics; speed is measured later (speedOf). */
export async function measureModelDir(dir: string, test: BatchSource): Promise<ModelResult> {
  const { model } = await loadModel(dir);
  try {
    const scored = scoreSource(model, test, SPEED_BATCH);
    const classes = Math.max(...scored.logits.map((r) => r.length));
    return { model: model.name, dir, parameters: countParameterSplit(model as BertModel | BiLstmClassifier), test: metricsOfScored(scored, classes), sequencesPerSecond: Number.NaN };
  } finally {
    model.dispose?.();
  }
}

/** Inference sequences per second of a saved model over `source`. */
export async function speedOf(dir: string, source: BatchSource, batches?: number): Promise<number> {
  const { model } = await loadModel(dir);
  try {
    return sequencesPerSecond(model, source, SPEED_BATCH, batches);
  } finally {
    model.dispose?.();
  }
}

/** The test e-mails (the first `limit`), tokenized as the experiment files do: what every model's speed is measured on. */
export function speedSource(maxLength: number, limit?: number): BatchSource {
  const test = spamAssassin().test;
  return textBatchSource(limit === undefined ? test : test.slice(0, limit), new Tokenizer(bertUncasedTokenizerJson()), { maxLength });
}

/** Labelled rows of a source (labels other than -100), read batch by batch. */
export function countLabelled(source: BatchSource, batchSize = 256): number {
  let labelled = 0;
  for (let start = 0; start < source.size; start += batchSize) {
    const batch = source.batch(Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i));
    try {
      if (batch.labels) labelled += Array.from(batch.labels.dataSync()).filter((y) => y !== -100).length;
    } finally {
      disposeBatch(batch);
    }
  }
  return labelled;
}
