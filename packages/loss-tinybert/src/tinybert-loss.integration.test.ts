// End to end on the models package's BertModel: a 4-layer teacher teaches a 2-layer, narrower student
// through createDistillery().use(tinybert): the intermediate stage alone, then TinyBERT's two task stages.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, selectBackend, silentLogger, type LossPlugin,
} from '@distillery/core';
import { mean, stepRecorder, syntheticTask } from '@distillery/core/testing';
import { BertModel, type BertConfigInput } from '@distillery/models';
import { tinybert, tinybertPresets, type TinybertLoss, type TinybertOptions } from './index.js';

// Dropout off so a falling loss is the optimizer's doing, not luck.
const base: BertConfigInput = {
  vocab_size: 40, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
};
const task = syntheticTask({ numClasses: 3, vocabSize: 40, seqLength: 8, size: 64 });
const models: BertModel[] = [];
const bert = (layers: number, hidden: number, seed: number, extra: BertConfigInput = {}) => {
  const m = new BertModel({ ...base, num_hidden_layers: layers, hidden_size: hidden, ...extra }, { seed });
  models.push(m);
  return m;
};

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => models.forEach((m) => m.dispose()));

describe('tinybert on BertModel (teacher 4 layers × 32, student 2 layers × 16)', () => {
  it('intermediate: attention and hidden fall over 50 steps, fit_dense is trained, tensor count flat', async () => {
    let created: TinybertLoss | undefined;
    const recording: LossPlugin<object> = { ...tinybert, create: (o, env) => (created = tinybert.create(o, env) as TinybertLoss) };
    const rec = stepRecorder();
    // The Distiller frees the losses it built when the stage ends: copy the trained projection before.
    let trained: tf.Tensor | undefined;
    const snapshot = { onStageEnd: () => { trained = tf.clone(created!.variables[0]); } };
    // BERT's initializer_range 0.02 leaves attention scores near 0 in both models; 0.2 gives the teacher's
    // attention some shape for the student to learn.
    const result = await createDistillery({ logger: silentLogger }).use(tinybert).runStage({
      name: 'intermediate', teacher: bert(4, 32, 1, { initializer_range: 0.2 }), student: bert(2, 16, 2),
      losses: [{ ...tinybertPresets.intermediate()[0], use: recording }], data: { train: arraySource(task) },
      batchSize: 16, maxSteps: 50, optimizer: { learningRate: 2e-3 }, callbacks: [rec.callback, snapshot],
    });
    expect(result.status).toBe('completed');
    expect(Object.keys(rec.steps[0].terms).sort()).toEqual(['tinybert', 'tinybert.attention', 'tinybert.hidden']);
    for (const term of ['tinybert.attention', 'tinybert.hidden']) {
      const values = rec.steps.map((s) => s.terms[term]);
      expect(mean(values.slice(-5)), term).toBeLessThan(0.7 * mean(values.slice(0, 5)));
    }
    expect(new Set(rec.counts.slice(1)).size).toBe(1);
    const start = tinybert.create({}, {
      teacherInfo: models[0].info, studentInfo: models[1].info, seed: 42, logger: silentLogger,
      resolveMapping: () => { throw new Error('unused'); },
    }) as TinybertLoss;
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(trained!, start.variables[0]))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-3);
    expect(created!.variables[0].isDisposed).toBe(true);
    start.dispose();
    trained!.dispose();
  });

  it(`a 4-head teacher teaches a 2-head student with teacherHeads 'average' or a map: the attention term falls`, async () => {
    const teacher = bert(4, 32, 5, { num_attention_heads: 4, initializer_range: 0.2 });
    const choices: TinybertOptions['teacherHeads'][] = ['average', [[0, 3], [1, 2]]];
    for (const teacherHeads of choices) {
      const rec = stepRecorder();
      const lines: string[] = [];
      const logger = { info: (m: string) => lines.push(m), warn: () => {} };
      const result = await createDistillery({ logger }).use(tinybert).runStage({
        name: 'intermediate', teacher, student: bert(2, 16, 6),
        losses: tinybertPresets.intermediate({ teacherHeads }),
        // One batch of 16 rows, seen every step: the term's fall is not hidden by batch-to-batch noise.
        data: { train: arraySource({ inputIds: task.inputIds.slice(0, 16) }) }, batchSize: 16, maxSteps: 30,
        optimizer: { learningRate: 5e-3 }, callbacks: [rec.callback],
      });
      expect(result.status).toBe('completed');
      expect(lines.some((l) => l.includes('teacher heads averaged: student 0 ← teacher'))).toBe(true);
      const values = rec.steps.map((s) => s.terms['tinybert.attention']);
      expect(values.every(Number.isFinite)).toBe(true);
      expect(mean(values.slice(-5)), JSON.stringify(teacherHeads)).toBeLessThan(0.75 * mean(values.slice(0, 5)));
      expect(new Set(rec.counts.slice(1)).size).toBe(1);
    }
  });

  it('the task pipeline: fine-tune teacher → intermediate → prediction; the prediction loss falls', async () => {
    const rec = stepRecorder();
    const distillery = createDistillery({ logger: silentLogger }).use(tinybert);
    const result = await distillery.run([
      {
        name: 'finetune', student: bert(4, 32, 3), losses: [{ use: 'supervised' }],
        data: { train: arraySource(task) }, batchSize: 16, maxSteps: 40, optimizer: { learningRate: 5e-3 },
      },
      {
        name: 'intermediate', teacher: { stage: 'finetune' }, student: bert(2, 16, 4), losses: tinybertPresets.intermediate(),
        data: { train: arraySource({ inputIds: task.inputIds }) }, batchSize: 16, maxSteps: 30,
        optimizer: { learningRate: 2e-3 }, callbacks: [rec.callback],
      },
      {
        name: 'prediction', teacher: { stage: 'finetune' }, student: { stage: 'intermediate' },
        losses: tinybertPresets.prediction(), data: { train: arraySource({ inputIds: task.inputIds }) },
        batchSize: 16, maxSteps: 50, optimizer: { learningRate: 5e-3 }, callbacks: [rec.callback],
      },
    ]);
    expect(result.status).toBe('completed');
    expect(result.students.get('prediction')).toBe(models.at(-1));
    const prediction = rec.of('prediction').map((s) => s.terms['tinybert.prediction']);
    expect(Object.keys(rec.of('prediction')[0].terms).sort()).toEqual(['tinybert', 'tinybert.prediction']);
    expect(prediction).toHaveLength(50);
    expect(mean(prediction.slice(-5))).toBeLessThan(0.85 * mean(prediction.slice(0, 5)));
  });
});
