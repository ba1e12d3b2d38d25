// End to end: a 2-layer BERT student learns a 4-layer BERT teacher's last-layer self-attention
// relations through createDistillery().use(minilm), on the cpu backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arraySource, createDistillery, selectBackend, silentLogger } from '@distillery/core';
import { mean, stepRecorder, syntheticTask } from '@distillery/core/testing';
import { BertModel } from '@distillery/models';
import { minilm } from './index.js';

const VOCAB = 40;
const task = syntheticTask({ numClasses: 3, vocabSize: VOCAB, seqLength: 12, size: 128, seed: 5 });
const bert = (layers: number, hidden: number, heads: number, initializerRange: number, seed: number) => new BertModel({
  vocab_size: VOCAB, hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: heads,
  intermediate_size: 2 * hidden, max_position_embeddings: 16, num_labels: 3, initializer_range: initializerRange,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
}, { seed });

const models: BertModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));
beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** Runs 50 steps and returns the per-step terms and live tensor counts. */
async function distil(teacher: BertModel, student: BertModel, options: Record<string, unknown>) {
  models.push(teacher, student);
  const rec = stepRecorder();
  const result = await createDistillery({ logger: silentLogger }).use(minilm).runStage({
    name: 'minilm', teacher: teacher.asTeacher(), student,
    losses: [{ use: 'minilm', options }],
    data: { train: arraySource({ inputIds: task.inputIds }) },
    batchSize: 8, maxSteps: 50, seed: 3,
    optimizer: { learningRate: 3e-3, schedule: 'constant' },
    callbacks: [rec.callback],
  });
  expect(result.status).toBe('completed');
  expect(rec.steps).toHaveLength(50);
  expect(new Set(rec.counts).size).toBe(1);
  return rec.steps.map((e) => e.terms);
}

describe('MiniLM distillation of a BERT teacher (4 layers) into a BERT student (2 layers)', () => {
  it('v1: attention + value-relation KL falls over 50 steps', async () => {
    // A teacher with larger initial weights has peaked attention for the student to learn.
    const steps = await distil(bert(4, 32, 4, 0.2, 1), bert(2, 16, 4, 0.02, 2), {});
    expect(Object.keys(steps[0]).sort()).toEqual(['minilm', 'minilm.attention', 'minilm.valueRelation']);
    const first = mean(steps.slice(0, 5).map((s) => s.minilm)), last = mean(steps.slice(-5).map((s) => s.minilm));
    expect(last).toBeLessThan(0.7 * first);
    expect(steps.at(-1)!['minilm.attention']).toBeLessThan(steps[0]['minilm.attention']);
    expect(steps.at(-1)!['minilm.valueRelation']).toBeLessThan(steps[0]['minilm.valueRelation']);
  });

  it('v2: Q-Q, K-K, V-V relations with different head counts and hidden sizes fall over 50 steps', async () => {
    const steps = await distil(bert(4, 32, 4, 0.2, 1), bert(2, 24, 3, 0.02, 2), { version: 2, relationHeads: 4, teacherLayer: 3 });
    expect(Object.keys(steps[0]).sort()).toEqual(['minilm', 'minilm.key', 'minilm.query', 'minilm.value']);
    const first = mean(steps.slice(0, 5).map((s) => s.minilm)), last = mean(steps.slice(-5).map((s) => s.minilm));
    expect(last).toBeLessThan(0.7 * first);
  });
});
