import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkStageSettings, createDistillery, defineLossPlugin, selectBackend, silentLogger, type DistillationLoss, type StageConfig,
} from '@distillery/core';
import { thrown } from '@distillery/core/testing';
import { disposeSetup, planStage, setupStage } from './setup.js';
import { hiddenLoss, linearLoss, Probe, probeData } from './probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

let shared: Probe | undefined;
const stage = (overrides: Partial<StageConfig> = {}): StageConfig => ({
  name: 'fit', student: overrides.student ?? (shared ??= new Probe([0, 0])), losses: [{ use: linearLoss('lin', () => [1, 1]) }],
  data: { train: probeData(10) }, batchSize: 4, ...overrides,
});

describe('planStage', () => {
  it('counts steps from epochs, or from maxSteps (epochs then rounded up)', () => {
    expect(planStage(stage({ epochs: 2 }))).toMatchObject({ batchSize: 4, seed: 42, stepsPerEpoch: 3, totalSteps: 6, epochs: 2 });
    expect(planStage(stage({ epochs: 2, maxSteps: 7 }))).toMatchObject({ stepsPerEpoch: 3, totalSteps: 7, epochs: 3 });
  });

  it('shuffles every example into batches per epoch from the seed, or takes the source\'s own batches', () => {
    const plan = planStage(stage({ seed: 3 }));
    const epoch0 = plan.epochBatches(0);
    expect(epoch0.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(epoch0.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(plan.epochBatches(1)).not.toEqual(epoch0);
    expect(planStage(stage({ seed: 3 })).epochBatches(0)).toEqual(epoch0);
    const own = { ...probeData(10), epochBatches: (epoch: number) => [[epoch], [1, 2]] };
    expect(planStage(stage({ data: { train: own } })).epochBatches(5)).toEqual([[5], [1, 2]]);
  });

  it('names a bad value', () => {
    const cases: [Partial<StageConfig>, RegExp][] = [
      [{ data: { train: probeData(0) } }, /^stage 'fit': data\.train must be a batch source with at least one example$/],
      [{ data: { train: { ...probeData(3), epochBatches: () => [] } } }, /^stage 'fit': data\.train gives no batches for epoch 1$/],
    ];
    for (const [overrides, message] of cases) expect(thrown(() => planStage(stage(overrides))).message).toMatch(message);
  });

  it('lengths and the other plain settings are refused before any stage is set up (checkStageSettings), naming the stage and value', () => {
    const cases: [Partial<StageConfig>, string][] = [
      [{ batchSize: 2.5 }, "stage 'fit' batchSize: expected an integer, got 2.5"],
      [{ epochs: 0 }, "stage 'fit' epochs: expected an integer >= 1, got 0"],
      [{ maxSteps: -1 }, "stage 'fit' maxSteps: expected an integer >= 1, got -1"],
      [{ optimizer: { clipNorm: -1 } }, "stage 'fit' optimizer.clipNorm: expected a number >= 0, got -1"],
      [{ losses: [{ use: 'counted' }, { use: 'counted', weight: Number.NaN }] }, "stage 'fit' losses[1].weight: expected a number, got NaN"],
      [{ losses: [] }, "stage 'fit' losses: expected at least 1 item, got an empty list"],
    ];
    for (const [overrides, message] of cases) expect(thrown(() => checkStageSettings(stage(overrides))).message).toBe(message);
  });
});

describe('setupStage', () => {
  const registry = () => createDistillery({ logger: silentLogger }).plugins;

  it('orders the variables (student, then each loss\'s own, by label), unions the features and labels repeated losses', () => {
    const own = tf.variable(tf.scalar(1), true, 'setup-test/own');
    const withVariable: DistillationLoss = { ...linearLoss('lin', () => [1, 1]), variables: [own] };
    const student = new Probe([0, 0], [0, 0], { hidden: true });
    const teacher = new Probe([1, 1], [0, 0], { hidden: true });
    const config = stage({ student, losses: [{ use: linearLoss('lin', () => [1, 1]) }, { use: withVariable, weight: 3 }, { use: hiddenLoss('hid') }] });
    const setup = setupStage({ config, student, teacher: teacher.asTeacher() }, registry(), silentLogger);
    expect(setup.variables.map((v) => [v.key, v.variable])).toEqual([
      ['student.0', student.w], ['student.1', student.b], ['loss.lin#2.0', own],
    ]);
    expect(setup.losses.map((l) => [l.label, l.weight, l.owned])).toEqual([['lin', 1, false], ['lin#2', 3, false], ['hid', 1, false]]);
    expect([...setup.studentFeatures].sort()).toEqual(['hidden', 'logits']);
    expect([...setup.teacherFeatures]).toEqual(['hidden']);
    expect(setup.optimizer.variables).toEqual([student.w, student.b, own]);
    expect(setup.clipNorm).toBe(1);
    expect(setup.schedule(1)).toBe(5e-5);
    disposeSetup(setup);
    tf.dispose([own]);
    student.dispose();
    teacher.dispose();
  });

  it('on an error, frees the losses it built from plugins and the optimizer it made; ready-made losses are left alone', () => {
    let disposed = 0;
    const counted = defineLossPlugin({ name: 'counted', create: () => ({ ...linearLoss('counted', () => [1, 1]), dispose: () => { disposed++; } }) });
    const d = createDistillery({ logger: silentLogger, plugins: [counted] });
    const readyMade = { ...linearLoss('ready', () => [1, 1]), dispose: () => { disposed += 100; } };
    const student = new Probe([0, 0]);
    const before = tf.memory().numTensors;
    const bad = (overrides: Partial<StageConfig>) => thrown(() => setupStage({ config: stage({ student, ...overrides }), student }, d.plugins, silentLogger)).message;
    const losses = [{ use: 'counted' }, { use: readyMade }];
    expect(bad({ losses, optimizer: { learningRate: 0 } })).toMatch(/learningRate must be a positive number, got 0/);
    expect(bad({ losses: [...losses, { use: 'uncounted' }] })).toBe("unknown loss plugin 'uncounted'; known loss plugins: 'supervised', 'counted'");
    expect(bad({ losses: [...losses, { use: hiddenLoss('hid') }] }))
      .toBe("stage 'fit': loss 'hid' needs the teacher's 'hidden' but the stage has no teacher");
    expect(disposed).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    student.dispose();
  });
});
