// evaluation.every (step-count evaluations, last/ at each, exact resume) and stages whose losses do not train the head.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { arraySource, createDistillery, loadCheckpoint, selectBackend, silentLogger, type EpochEvent, type StageConfig } from '@distillery/core';
import { expectRel, MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { hiddenLoss, Probe, probeData } from './stage/probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

const task = { numClasses: 3, vocabSize: 40, seqLength: 10 };
const trainData = syntheticTask({ ...task, size: 40, seed: 1 });
const validData = syntheticTask({ ...task, size: 30, seed: 2 });
const mlp = (seed = 5) => new MlpClassifier({ vocabSize: 40, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed });
const values = (m: { trainableVariables: tf.Variable[] }) => m.trainableVariables.map((v) => Array.from(v.dataSync()));
const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'distillery-every-'));

/** 40 examples in batches of 4: 10 steps per epoch. */
const stage = (overrides: Partial<StageConfig> = {}): StageConfig => ({
  name: 'fit', student: overrides.student ?? mlp(), losses: [{ use: 'supervised' }],
  data: { train: arraySource(trainData), validation: arraySource(validData) }, batchSize: 4,
  optimizer: { learningRate: 0.05, warmupSteps: 2 }, ...overrides,
});

describe('evaluation.every', () => {
  it('a small labelled set with maxSteps: every N steps and the last, not once per (one-step) epoch', async () => {
    const d = createDistillery({ logger: silentLogger });
    const small = { train: arraySource({ inputIds: trainData.inputIds.slice(0, 4), labels: trainData.labels.slice(0, 4) }), validation: arraySource(validData) };
    const byEpoch = await d.runStage(stage({ data: small, maxSteps: 25 }));
    const bySteps = await d.runStage(stage({ data: small, maxSteps: 25, evaluation: { every: 10 } }));
    expect(byEpoch.history).toHaveLength(25);
    expect(bySteps.history.map((h) => [h.epoch, h.step])).toEqual([[9, 10], [19, 20], [24, 25]]);
    // The same training either way: evaluating changes no weight.
    expect(bySteps.finalLoss).toBe(byEpoch.finalLoss);
  });

  it('writes last/ at each step-count evaluation too (and after each epoch); best/ at each new best', async () => {
    const dir = await tmp();
    const kinds: [string, number][] = [];
    const evaluations: EpochEvent[] = [];
    const result = await createDistillery({ logger: silentLogger }).runStage(stage({
      epochs: 2, evaluation: { every: 4 }, checkpoint: { dir },
      callbacks: [{ onCheckpoint: (e) => { kinds.push([e.kind, e.step]); }, onEpochEnd: (e) => { evaluations.push(e); } }],
    }));
    expect(result.history.map((h) => h.step)).toEqual([4, 8, 12, 16, 20]);
    expect(evaluations.map((e) => [e.step, e.midEpoch])).toEqual([[4, true], [8, true], [12, true], [16, true], [20, undefined]]);
    const last = kinds.filter(([k]) => k === 'last').map(([, s]) => s);
    expect(last).toEqual([4, 8, 10, 12, 16, 20]);
    const bests = evaluations.filter((e) => e.isBest).map((e) => e.step);
    expect(kinds.filter(([k]) => k === 'best').map(([, s]) => s)).toEqual(bests);
    expect((await loadCheckpoint(path.join(dir, 'best'))).state.best).toEqual(result.best);
  });

  // every 3 over 2 epochs of 10 steps: 6 is an evaluation inside an epoch, 7 a plain step, 10 an epoch's end.
  for (const stopAt of [6, 7, 10]) {
    it(`resumes a run interrupted after step ${stopAt} to the weights and history of an uninterrupted one`, async () => {
      const config = (student: MlpClassifier, dir?: string) => stage({
        student, epochs: 2, evaluation: { every: 3 }, ...(dir ? { checkpoint: { dir, resume: true } } : {}),
      });
      const full = mlp();
      const fullResult = await createDistillery({ logger: silentLogger }).runStage(config(full));
      expect(fullResult.history.map((h) => h.step)).toEqual([3, 6, 9, 12, 15, 18, 20]);

      const dir = await tmp();
      const controller = new AbortController();
      const interrupted = await createDistillery({ logger: silentLogger }).runStage({
        ...config(mlp(), dir), callbacks: [{ onStep: (e) => { if (e.step === stopAt) controller.abort(); } }],
      }, { signal: controller.signal });
      expect([interrupted.status, interrupted.steps]).toEqual(['interrupted', stopAt]);
      // An evaluation due at the stop ran before last/ was written.
      expect((await loadCheckpoint(path.join(dir, 'last'))).state.history.map((h) => h.step)).toEqual([3, 6, 9].filter((s) => s <= stopAt));

      const resumed = mlp(99);
      const result = await createDistillery({ logger: silentLogger }).runStage(config(resumed, dir));
      expect(result.status).toBe('completed');
      expect(result.history).toEqual(fullResult.history);
      expect(result.best).toEqual(fullResult.best);
      expect(values(resumed)).toEqual(values(full));
    });
  }
});

describe('a stage whose losses do not train the head', () => {
  it('evaluates on its validation loss (lower is better), says so once, and keeps the best by it', async () => {
    const logged: string[] = [];
    const logger = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m) };
    const teacher = new Probe([1, -1], [0, 0], { hidden: true });
    const student = new Probe([0, 0], [0, 0], { hidden: true });
    const seen: { metrics: Record<string, number>; expected: number; isBest: boolean }[] = [];
    const result = await createDistillery({ logger }).runStage({
      name: 'intermediate', teacher: teacher.asTeacher(), student, losses: [{ use: hiddenLoss('hid'), weight: 2 }],
      data: { train: probeData(4), validation: probeData(3) }, batchSize: 2, epochs: 3,
      optimizer: { learningRate: 0.05, schedule: 'constant' },
      callbacks: [{
        onEpochEnd: (e) => {
          const { w, b } = student.values();
          seen.push({ metrics: e.metrics, expected: 2 * ((1 - w[0] - b[0]) ** 2 + (-1 - w[1] - b[1]) ** 2) / 2, isBest: e.isBest });
        },
      }],
    });
    expect(logged.filter((m) => m.includes('evaluating on validation loss'))).toEqual(["stage 'intermediate': its losses do not train the head; evaluating on validation loss"]);
    expect(seen.map((s) => Object.keys(s.metrics))).toEqual([['loss'], ['loss'], ['loss']]);
    seen.forEach((s, i) => expectRel(s.metrics.loss, s.expected, `loss at epoch ${i + 1}`));
    // Training pulls the student toward the teacher, so each epoch is a new best, by a lower loss.
    expect(seen.map((s) => s.isBest)).toEqual([true, true, true]);
    expect(result.best).toMatchObject({ metric: 'loss', epoch: 2 });
    expect(logged).toContain(`stage 'intermediate': restored the best epoch (loss=${result.best!.value.toFixed(4)} at epoch 3)`);
    teacher.dispose();
    student.dispose();
  });
});
