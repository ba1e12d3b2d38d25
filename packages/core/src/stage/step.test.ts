import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createDistillery, NonFiniteLossError, selectBackend, silentLogger, type DistillationLoss, type Feature, type StageConfig, type Teacher,
} from '@distillery/core';
import { expectRel } from '@distillery/core/testing';
import { disposeSetup, setupStage } from './setup.js';
import { trainStep, type StepContext } from './step.js';
import { hiddenLoss, linearLoss, Probe, probeData, squareLoss } from './probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** A step context over `student` (and `teacher`), with the given losses; the batch is all `size` examples. */
function context(student: Probe, losses: StageConfig['losses'], teacher?: Teacher, lastCheckpoint?: string) {
  const config: StageConfig = {
    name: 'fit', student, losses, data: { train: probeData(4) }, batchSize: 4, optimizer: { learningRate: 0.1, schedule: 'constant' },
  };
  const setup = setupStage({ config, student, teacher }, createDistillery({ logger: silentLogger }).plugins, silentLogger);
  const ctx: StepContext = { stage: 'fit', setup, student, teacher, lastCheckpoint: () => lastCheckpoint };
  return { ctx, setup, batch: () => setup.train.batch([0, 1, 2, 3]) };
}

describe('trainStep', () => {
  it('reports Σ weight·total, each loss and term by label, the gradient norm and the rate; frees the batch; leaves no tensor', () => {
    const student = new Probe([0.5, -0.25], [0.1, 0.2]);
    const { ctx, setup, batch } = context(student, [{ use: linearLoss('lin', () => [3, -4]), weight: 0.5 }, { use: squareLoss('sq'), weight: 3 }]);
    const before = tf.memory().numTensors;
    const b = batch();
    const values = trainStep(ctx, b, 1);
    expect(tf.memory().numTensors).toBe(before);
    expect(b.inputIds.isDisposed && b.attentionMask.isDisposed).toBe(true);
    // z = w + b = [0.6, −0.05]; lin = 3·0.6 + 4·0.05 = 2; sq = 0.36 + 0.0025.
    expect(Object.keys(values.terms)).toEqual(['lin', 'lin.value', 'sq', 'sq.sq']);
    expectRel(values.terms.lin, 2, 'lin');
    expectRel(values.terms.sq, 0.3625, 'sq');
    expectRel(values.loss, 0.5 * 2 + 3 * 0.3625, 'loss');
    const g = [0.5 * 3 + 3 * 2 * 0.6, 0.5 * -4 + 3 * 2 * -0.05];
    expectRel(values.gradNorm, Math.sqrt(2 * (g[0] ** 2 + g[1] ** 2)), 'gradNorm');
    expect(values.learningRate).toBe(0.1);
    // The first AdamW step moves each coordinate by lr against its gradient's sign.
    expectRel(student.values().b[0], 0.1 - 0.1, 'b[0]', 1e-7);
    expect(setup.optimizer.step).toBe(1);
    // A second step allocates nothing that stays either.
    trainStep(ctx, batch(), 2);
    expect(tf.memory().numTensors).toBe(before);
    disposeSetup(setup);
    student.dispose();
  });

  it('runs the teacher only when a loss reads it, without gradient into it', () => {
    const student = new Probe([0, 0], [0, 0], { hidden: true });
    const teacherModel = new Probe([1, -1], [0, 0], { hidden: true });
    let forwards = 0;
    const teacher: Teacher = { ...teacherModel.asTeacher(), forward: (b, f) => { forwards++; return teacherModel.forward(b, f); } };
    const plain = context(student, [{ use: linearLoss('lin', () => [1, 1]) }], teacher);
    trainStep(plain.ctx, plain.batch(), 1);
    expect(forwards).toBe(0);
    disposeSetup(plain.setup);
    const distil = context(student, [{ use: hiddenLoss('hid') }], teacher);
    const before = tf.memory().numTensors;
    const { w, b } = student.values();
    const values = trainStep(distil.ctx, distil.batch(), 1);
    expect(forwards).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    // mean over the two columns of (t − s)², t = [1, −1], s = w + b (moved by the first step).
    expectRel(values.loss, ((1 - w[0] - b[0]) ** 2 + (-1 - w[1] - b[1]) ** 2) / 2, 'hid');
    expect(teacherModel.values()).toEqual({ w: [1, -1], b: [0, 0] });
    disposeSetup(distil.setup);
    student.dispose();
    teacherModel.dispose();
  });

  it('on a non-finite term: throws naming the step, the term and the checkpoint kept, changes no weight, leaks nothing', () => {
    const student = new Probe([0.5, -0.5]);
    const nan: DistillationLoss = {
      name: 'boom', teacherFeatures: new Set(), studentFeatures: new Set<Feature>(['logits']), variables: [],
      compute: ({ student: s }) => {
        const total = tf.tidy(() => tf.mul(tf.sum(s.logits!), Number.NaN)) as tf.Scalar;
        return { total, terms: { part: tf.clone(total) } };
      },
    };
    const { ctx, setup, batch } = context(student, [{ use: linearLoss('lin', () => [1, 1]) }, { use: nan }], undefined, '/ckpt/last');
    const before = tf.memory().numTensors;
    const weights = student.values();
    let error: unknown;
    try { trainStep(ctx, batch(), 7); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as NonFiniteLossError).message)
      .toBe("stage 'fit': step 7: 'boom' is NaN; training stopped with the weights of step 6; the last good checkpoint /ckpt/last is kept");
    expect([(error as NonFiniteLossError).step, (error as NonFiniteLossError).term, (error as NonFiniteLossError).lastCheckpoint]).toEqual([7, 'boom', '/ckpt/last']);
    expect(student.values()).toEqual(weights);
    expect(setup.optimizer.step).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    disposeSetup(setup);
    student.dispose();
  });
});
