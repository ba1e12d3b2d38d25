import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkStageSettings, createDistillery, selectBackend, silentLogger, type EpochEvent, type StageConfig, type Teacher,
} from '@distillery/core';
import { expectRel, thrown } from '@distillery/core/testing';
import { StageCheckpoints, type StageProgress } from './checkpoints.js';
import { StageEvaluation } from './evaluation.js';
import { StageEvents } from './events.js';
import { disposeSetup, setupStage } from './setup.js';
import { validationLoss } from './validation-loss.js';
import { hiddenLoss, linearLoss, Probe, probeData, tokenLoss } from './probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** A StageEvaluation over a Probe student (and teacher): 10 training examples, one per step. */
function parts(overrides: Partial<StageConfig>, { teacher, hidden = false }: { teacher?: Teacher; hidden?: boolean } = {}) {
  const student = new Probe([0.3, 0], [0.3, 0], { hidden });
  const events: EpochEvent[] = [];
  const logged: string[] = [];
  const logger = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m) };
  const config: StageConfig = {
    name: 'fit', student, losses: [{ use: linearLoss('lin', () => [1, -1]) }], batchSize: 1,
    data: { train: probeData(10), validation: probeData(4, 0) }, ...overrides,
    callbacks: [{ onEpochEnd: (e) => { events.push(e); } }],
  };
  const registry = createDistillery({ logger: silentLogger }).plugins;
  const setup = setupStage({ config, student, teacher }, registry, logger);
  const progress: StageProgress = { step: 0, history: [] };
  const stageEvents = new StageEvents(config, registry);
  const checkpoints = new StageCheckpoints(config, setup, progress, stageEvents, student);
  const evaluation = new StageEvaluation({ config, student, teacher }, setup, progress, checkpoints, stageEvents, logger);
  const dispose = () => { evaluation.dispose(); disposeSetup(setup); student.dispose(); };
  return { student, setup, progress, evaluation, events, logged, dispose };
}

describe('StageEvaluation: when', () => {
  it("'epoch' (default): at each epoch's end; a step count: every N steps and the last one; never without validation data", () => {
    const epochEnds = [3, 6, 9, 10];
    const due = (p: ReturnType<typeof parts>) => Array.from({ length: 10 }, (_, i) => i + 1).filter((s) => p.evaluation.due(s, epochEnds.includes(s)));
    const byEpoch = parts({});
    const bySteps = parts({ evaluation: { every: 4 } });
    const none = parts({ data: { train: probeData(10) }, evaluation: { every: 4 } });
    expect([due(byEpoch), due(bySteps), due(none)]).toEqual([[3, 6, 9, 10], [4, 8, 10], []]);
    expect([byEpoch.evaluation.every, bySteps.evaluation.every]).toEqual(['epoch', 4]);
    for (const p of [byEpoch, bySteps, none]) p.dispose();
  });

  it('another `every` is refused before any stage is set up (checkStageSettings), naming the stage and the value', () => {
    const stage = (every: unknown) => ({ name: 'fit', losses: [{ use: linearLoss('lin', () => [1, -1]) }], data: { train: probeData(10) }, evaluation: { every } });
    const cases: [unknown, string][] = [
      [0, "stage 'fit' evaluation.every: expected an integer >= 1, got 0"],
      [2.5, "stage 'fit' evaluation.every: expected an integer, got 2.5"],
      ['step', `stage 'fit' evaluation.every: expected "epoch", got "step"`],
    ];
    for (const [every, message] of cases) expect(thrown(() => checkStageSettings(stage(every))).message).toBe(message);
  });
});

describe('StageEvaluation: which metric', () => {
  it("accuracy when a loss reads the student's logits; the validation loss, said once, when none does; an explicit metric wins", () => {
    const teacherModel = new Probe([1, -1], [0, 0], { hidden: true });
    const teacher = teacherModel.asTeacher();
    const head = parts({});
    const noHead = parts({ losses: [{ use: hiddenLoss('hid') }] }, { teacher, hidden: true });
    const explicit = parts({ losses: [{ use: hiddenLoss('hid') }], evaluation: { metric: 'f1' } }, { teacher, hidden: true });
    const noData = parts({ losses: [{ use: hiddenLoss('hid') }], data: { train: probeData(10) } }, { teacher, hidden: true });
    expect([head, noHead, explicit].map((p) => p.evaluation.metric)).toEqual(['accuracy', 'loss', 'f1']);
    for (const p of [head, noHead, explicit, noData]) p.evaluation.announce();
    expect(noHead.logged).toEqual(["stage 'fit': its losses do not train the head; evaluating on validation loss"]);
    expect([head.logged, explicit.logged, noData.logged]).toEqual([[], [], []]);
    for (const p of [head, noHead, explicit, noData]) p.dispose();
    teacherModel.dispose();
  });
});

describe('validationLoss', () => {
  it('is Σ weight·loss on the validation set, teacher included, examples weighted equally across uneven batches; no gradient, no leak', () => {
    const student = new Probe([0.5, -1], [0.25, 0], { hidden: true });
    const teacherModel = new Probe([2, 1], [0, 0], { hidden: true });
    const config: StageConfig = {
      name: 'fit', student, losses: [{ use: tokenLoss('tok'), weight: 0.5 }, { use: hiddenLoss('hid'), weight: 3 }], data: { train: probeData(5) },
    };
    const setup = setupStage({ config, student, teacher: teacherModel.asTeacher() }, createDistillery({ logger: silentLogger }).plugins, silentLogger);
    const before = tf.memory().numTensors;
    const value = validationLoss(setup, { student, teacher: teacherModel.asTeacher() }, probeData(5), 2, 1);
    expect(tf.memory().numTensors).toBe(before);
    // Tokens 1..5 in batches [1, 2], [3, 4], [5]: tok = mean(token)·z0 per batch, z = w + b = [0.75, −1].
    // Weighted by batch size, tok's mean is mean(1..5)·0.75 = 2.25. hid = mean over columns of (t − z)², t = [2, 1].
    const z = [0.75, -1];
    const tok = ((2 * 1.5 + 2 * 3.5 + 1 * 5) / 5) * z[0];
    const hid = ((2 - z[0]) ** 2 + (1 - z[1]) ** 2) / 2;
    expectRel(value, 0.5 * tok + 3 * hid, 'validation loss');
    expect(student.values()).toEqual({ w: [0.5, -1], b: [0.25, 0] });
    disposeSetup(setup);
    student.dispose();
    teacherModel.dispose();
  });
});

describe('StageEvaluation: best-keeping', () => {
  it('records every evaluation, keeps the best weights (lower loss is better) and restores them', async () => {
    const teacherModel = new Probe([0.3, 0], [0.3, 0], { hidden: true });
    const p = parts({ losses: [{ use: hiddenLoss('hid') }], evaluation: { every: 2 } }, { teacher: teacherModel.asTeacher(), hidden: true });
    const at = (w: number[], b: number[]) => tf.tidy(() => { p.student.w.assign(tf.tensor2d([w])); p.student.b.assign(tf.tensor1d(b)); });
    // The student equals the teacher at step 4 (loss 0), differs at steps 2 and 6.
    const rows = [[[0, 0], [0, 0]], [[0.3, 0], [0.3, 0]], [[1, 1], [0, 0]]];
    for (const [i, [w, b]] of rows.entries()) {
      at(w, b);
      p.progress.step = 2 * (i + 1);
      await p.evaluation.run(0, { epoch: 0, batchInEpoch: p.progress.step });
    }
    expectRel(p.progress.history[0].metrics.loss, (0.6 ** 2 + 0) / 2, 'loss at step 2');
    expect(p.progress.history.map((h) => h.step)).toEqual([2, 4, 6]);
    expect(p.progress.best).toEqual({ metric: 'loss', value: 0, epoch: 0, step: 4 });
    expect(p.events.map((e) => [e.step, e.isBest, e.midEpoch])).toEqual([[2, true, true], [4, true, true], [6, false, true]]);
    p.evaluation.restoreBest();
    expect(p.student.values()).toEqual({ w: [Math.fround(0.3), 0], b: [Math.fround(0.3), 0] });
    expect(p.logged.at(-1)).toBe("stage 'fit': restored the best evaluation (loss=0.0000 at step 4)");
    p.dispose();
    teacherModel.dispose();
  });
});
