// End to end: a 2-layer BERT student learns a 4-layer BERT teacher through DistilBERT's triple loss
// (createDistillery().use(distilbertCosine)), on masked-LM batches and on a classification head.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arraySource, createDistillery, selectBackend, silentLogger, type BatchSource } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { mean, stepRecorder, syntheticTask } from '@distillery/core/testing';
import { BertModel, type BertHead } from '@distillery/models';
import { distilbertCosine } from './index.js';

const VOCAB = 40;          // syntheticTask ids are 1..39, 0 is padding
const MASK_ID = VOCAB;     // one extra id for [MASK]
const task = syntheticTask({ numClasses: 3, vocabSize: VOCAB, seqLength: 12, size: 128, seed: 9 });
const bert = (layers: number, heads: BertHead[], initializerRange: number, seed: number) => new BertModel({
  vocab_size: VOCAB + 1, hidden_size: 32, num_hidden_layers: layers, num_attention_heads: 4, intermediate_size: 64,
  max_position_embeddings: 16, num_labels: 3, initializer_range: initializerRange,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
}, { heads, seed });

/**
 * DistilBERT's masking over arraySource batches: 15 % of the real tokens become targets (padding, the only
 * special token here, never does); of those 80 % turn into [MASK], 10 % into a random token, 10 % stay.
 */
function maskedLm(inputIds: number[][], seed: number): BatchSource {
  const base = arraySource({ inputIds });
  let calls = 0;
  return {
    size: base.size,
    batch(indices) {
      const batch = base.batch(indices);
      const ids = batch.inputIds.arraySync() as number[][];
      batch.inputIds.dispose();
      const rng = Rng.derive(seed, 'mlm', calls++);
      const labels = ids.map((row) => row.map(() => -100));
      const masked = ids.map((row, b) => row.map((id, j) => {
        if (id === 0 || rng.next() >= 0.15) return id;
        labels[b][j] = id;
        const p = rng.next();
        return p < 0.8 ? MASK_ID : p < 0.9 ? 1 + rng.int(VOCAB - 1) : id;
      }));
      batch.inputIds = tf.tensor2d(masked, undefined, 'int32');
      batch.mlmLabels = tf.tensor2d(labels, undefined, 'int32');
      return batch;
    },
  };
}

const models: BertModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));
beforeAll(async () => { await selectBackend('cpu', silentLogger); });

async function distil(teacher: BertModel, student: BertModel, train: BatchSource, options: Record<string, unknown>) {
  models.push(teacher, student);
  const rec = stepRecorder();
  const result = await createDistillery({ logger: silentLogger }).use(distilbertCosine).runStage({
    name: 'distilbert', teacher: teacher.asTeacher(), student,
    losses: [{ use: 'distilbert-cosine', options }],
    data: { train }, batchSize: 8, maxSteps: 50, seed: 4,
    optimizer: { learningRate: 3e-3, schedule: 'constant' },
    callbacks: [rec.callback],
  });
  expect(result.status).toBe('completed');
  expect(rec.steps).toHaveLength(50);
  expect(new Set(rec.counts).size).toBe(1);
  return rec.steps.map((e) => e.terms);
}

const falls = (steps: Record<string, number>[], key: string, factor: number) => {
  const first = mean(steps.slice(0, 5).map((s) => s[key])), last = mean(steps.slice(-5).map((s) => s[key]));
  expect(last, `${key}: first five steps ${first}, last five ${last}`).toBeLessThan(factor * first);
};

describe('DistilBERT distillation of a BERT teacher (4 layers) into a BERT student (2 layers)', () => {
  it('general distillation on masked-LM batches: the triple loss falls over 50 steps', async () => {
    const steps = await distil(bert(4, ['mlm'], 0.2, 1), bert(2, ['mlm'], 0.02, 2), maskedLm(task.inputIds, 6), {});
    expect(Object.keys(steps[0]).sort())
      .toEqual(['distilbert-cosine', 'distilbert-cosine.ce', 'distilbert-cosine.cos', 'distilbert-cosine.mlm']);
    falls(steps, 'distilbert-cosine', 0.9);
    falls(steps, 'distilbert-cosine.ce', 0.85);
    falls(steps, 'distilbert-cosine.cos', 0.5);
    // Masked synthetic tokens are mostly uniform noise: the MLM cross-entropy starts at its floor, about
    // log V, and stays there; the teacher's soft targets and hidden states are what the student can learn.
    const mlm = mean(steps.map((s) => s['distilbert-cosine.mlm']));
    expect(Math.abs(mlm - Math.log(VOCAB + 1))).toBeLessThan(0.3);
  });

  it('task stage (target logits): ce on the classification logits and cos fall over 50 steps', async () => {
    const steps = await distil(bert(4, ['classification'], 0.2, 1), bert(2, ['classification'], 0.02, 2),
      arraySource({ inputIds: task.inputIds }), { target: 'logits', temperature: 4 });
    expect(Object.keys(steps[0]).sort()).toEqual(['distilbert-cosine', 'distilbert-cosine.ce', 'distilbert-cosine.cos']);
    falls(steps, 'distilbert-cosine', 0.7);
  });
});
