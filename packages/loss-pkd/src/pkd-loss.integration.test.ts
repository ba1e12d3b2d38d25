// End to end on the models package's BertModel: a 4-layer teacher teaches a 2-layer student through
// createDistillery().use(pkd).runStage(), alone and in the paper's total with the hinton loss.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, selectBackend, silentLogger, type LossPlugin,
} from '@distillery/core';
import { mean, stepRecorder, syntheticTask } from '@distillery/core/testing';
import { hinton } from '@distillery/loss-hinton';
import { BertModel, type BertConfigInput } from '@distillery/models';
import { pkd, pkdPaperLosses, type PkdLoss } from './index.js';

// Dropout off so a falling loss is the optimizer's doing, not luck.
const base: BertConfigInput = {
  vocab_size: 40, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16, num_labels: 3,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
};
const task = syntheticTask({ numClasses: 3, vocabSize: 40, seqLength: 8, size: 64 });
const models: BertModel[] = [];
const bert = (layers: number, hidden: number, seed: number) => {
  const m = new BertModel({ ...base, num_hidden_layers: layers, hidden_size: hidden }, { seed });
  models.push(m);
  return m;
};

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => models.forEach((m) => m.dispose()));

describe('pkd on BertModel (teacher 4 layers, student 2, hidden 32)', () => {
  it('patience falls over 50 steps and the tensor count stays flat', async () => {
    const rec = stepRecorder();
    const result = await createDistillery({ logger: silentLogger }).use(pkd).runStage({
      name: 'pkd', teacher: bert(4, 32, 1), student: bert(2, 32, 2),
      losses: [{ use: 'pkd' }], data: { train: arraySource(task) },
      batchSize: 16, maxSteps: 50, optimizer: { learningRate: 1e-3 }, callbacks: [rec.callback],
    });
    expect(result.status).toBe('completed');
    expect(rec.steps).toHaveLength(50);
    expect(Object.keys(rec.steps[0].terms).sort()).toEqual(['pkd', 'pkd.patience']);
    const patience = rec.steps.map((s) => s.terms['pkd.patience']);
    expect(mean(patience.slice(-5))).toBeLessThan(0.5 * mean(patience.slice(0, 5)));
    expect(new Set(rec.counts.slice(1)).size).toBe(1);
  });

  it('with projection: true a narrower student (hidden 16) is taught and the projection is trained', async () => {
    let created: PkdLoss | undefined;
    const recording: LossPlugin<object> = { ...pkd, create: (o, env) => (created = pkd.create(o, env) as PkdLoss) };
    const rec = stepRecorder();
    // The Distiller frees the losses it built when the stage ends: copy the trained projection before.
    let trained: tf.Tensor | undefined;
    const snapshot = { onStageEnd: () => { trained = tf.clone(created!.variables[0]); } };
    await createDistillery({ logger: silentLogger }).runStage({
      name: 'pkd-projection', teacher: bert(4, 32, 3), student: bert(2, 16, 4),
      losses: [{ use: recording, options: { projection: true } }], data: { train: arraySource(task) },
      batchSize: 16, maxSteps: 50, optimizer: { learningRate: 1e-3 }, callbacks: [rec.callback, snapshot],
    });
    const patience = rec.steps.map((s) => s.terms['pkd.patience']);
    expect(mean(patience.slice(-5))).toBeLessThan(0.5 * mean(patience.slice(0, 5)));
    // The stage seed (42) fixed the start; training moved it.
    const start = pkd.create({ projection: true }, {
      teacherInfo: models.at(-2)!.info, studentInfo: models.at(-1)!.info, seed: 42, logger: silentLogger,
      resolveMapping: () => { throw new Error('unused'); },
    }) as PkdLoss;
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(trained!, start.variables[0]))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-3);
    expect(created!.variables[0].isDisposed).toBe(true);
    start.dispose();
    trained!.dispose();
  });
});

describe('the paper\'s total: hinton + pkd (pkdPaperLosses, kd.cls)', () => {
  it('loss = hinton + 500 · patience at every step, and it falls over 50 steps', async () => {
    const rec = stepRecorder();
    const result = await createDistillery({ logger: silentLogger }).use(hinton).use(pkd).runStage({
      name: 'kd.cls', teacher: bert(4, 32, 5), student: bert(2, 32, 6),
      losses: pkdPaperLosses(), data: { train: arraySource(task) },
      batchSize: 16, maxSteps: 50, optimizer: { learningRate: 1e-3 }, callbacks: [rec.callback],
    });
    expect(result.status).toBe('completed');
    expect(Object.keys(rec.steps[0].terms).sort()).toEqual(['hinton', 'hinton.hard', 'hinton.soft', 'pkd', 'pkd.patience']);
    for (const { loss, terms } of rec.steps) {
      expect(Math.abs(loss - (terms.hinton + 500 * terms.pkd))).toBeLessThan(1e-4 * Math.abs(loss));
      expect(Math.abs(terms.hinton - (0.3 * terms['hinton.hard'] + 0.7 * terms['hinton.soft']))).toBeLessThan(1e-5 * terms.hinton);
    }
    const losses = rec.steps.map((s) => s.loss);
    expect(mean(losses.slice(-5))).toBeLessThan(0.5 * mean(losses.slice(0, 5)));
    expect(new Set(rec.counts.slice(1)).size).toBe(1);
  });
});
