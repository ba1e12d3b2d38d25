import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, ConfigError, createDistillery, defineLossPlugin, defineTeacherPlugin, evaluate, loadCheckpoint, NonFiniteLossError,
  selectBackend, silentLogger, type DistillationLoss, type Feature, type StageConfig,
} from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';

const task = { numClasses: 3, vocabSize: 40, seqLength: 10 };
const trainData = syntheticTask({ ...task, size: 160, seed: 1 });
const validData = syntheticTask({ ...task, size: 80, seed: 2 });
const newStudent = (seed = 5) => new MlpClassifier({ vocabSize: 40, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed });
const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'distillery-'));
const values = (m: MlpClassifier) => m.trainableVariables.map((v) => Array.from(v.dataSync()));

function supervisedStage(overrides: Partial<StageConfig> = {}): StageConfig {
  return {
    name: 'fit', student: newStudent(), losses: [{ use: 'supervised' }],
    data: { train: arraySource(trainData), validation: arraySource(validData) },
    epochs: 3, batchSize: 16, optimizer: { learningRate: 0.05, schedule: 'constant' }, ...overrides,
  };
}

/** A loss that is 0 (with a gradient path) except at one step, where it is NaN. */
function nanAtStep(k: number): DistillationLoss {
  return {
    name: 'boom', teacherFeatures: new Set(), studentFeatures: new Set<Feature>(['logits']), variables: [],
    compute: ({ student, step }) => {
      const total = tf.tidy(() => tf.add(tf.mul(tf.mean(student.logits!), 0), step === k ? NaN : 0)) as tf.Scalar;
      return { total, terms: {} };
    },
  };
}

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

describe('plugin registry', () => {
  it('names the known plugins when a name is unknown', async () => {
    const d = createDistillery({ logger: silentLogger });
    await expect(d.runStage(supervisedStage({ losses: [{ use: 'hintonn' }] })))
      .rejects.toThrow(/unknown loss plugin 'hintonn'; known loss plugins: 'supervised'/);
    expect(() => d.plugins.get('mapping', 'uniformm')).toThrow(/'uniform', 'skip', 'last', 'lastLayer', 'explicit'/);
  });

  it('refuses two plugins of one kind and name, and objects that are not plugins', () => {
    const d = createDistillery({ logger: silentLogger });
    const mine = defineLossPlugin({ name: 'mine', create: () => nanAtStep(-1) });
    d.use(mine);
    expect(() => d.use(mine)).toThrow(/a loss plugin named 'mine' is already registered/);
    expect(() => d.use({ name: 'x' } as never)).toThrow(/not a plugin/);
    // A loss and a mapping may share a name: they live in different lists.
    expect(() => d.use({ ...mine, kind: 'mapping' } as never)).not.toThrow();
    expect(d.plugins.get('loss', 'mine')).toBe(mine);
  });

  it('rejects an unknown option key with the list of known ones', async () => {
    const d = createDistillery({ logger: silentLogger });
    await expect(d.runStage(supervisedStage({ mapping: { use: 'lastLayer', options: { teacherLayr: 2 } } })))
      .rejects.toThrow("stage 'fit' mapping.options.teacherLayr: unknown option for mapping plugin 'lastLayer' " +
        "(did you mean 'teacherLayer'?); allowed: teacherLayer");
  });

  it('checks plugin option values with the plugin schema, naming the key path and the value', async () => {
    const d = createDistillery({ logger: silentLogger });
    const error = await d.runStage(supervisedStage({ callbacks: [{ use: 'log', options: { every: 0 } }] })).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe("stage 'fit' callbacks[0].options.every: expected an integer >= 1, got 0");
    expect([error.path, error.value]).toEqual(["stage 'fit' callbacks[0].options.every", 0]);
  });

  it('keeps plugin lists per Distillery (root containers do not leak into each other)', () => {
    const a = createDistillery({ logger: silentLogger });
    const b = createDistillery({ logger: silentLogger });
    a.use(defineLossPlugin({ name: 'only-in-a', create: () => nanAtStep(-1) }));
    expect(a.plugins.has('loss', 'only-in-a')).toBe(true);
    expect(b.plugins.has('loss', 'only-in-a')).toBe(false);
  });
});

describe('Distiller', () => {
  it('fine-tunes with hard labels alone (no teacher) and keeps the tensor count flat', async () => {
    const d = createDistillery({ logger: silentLogger });
    const student = newStudent();
    const before = evaluate(student, arraySource(validData)).accuracy;
    const counts: number[] = [];
    const result = await d.runStage(supervisedStage({
      student, epochs: 6, callbacks: [{ onStep: () => { counts.push(tf.memory().numTensors); } }],
    }));
    expect(result.status).toBe('completed');
    expect(result.steps).toBe(6 * 10);
    expect(new Set(counts).size).toBe(1);
    expect(result.history).toHaveLength(6);
    const after = evaluate(student, arraySource(validData)).accuracy;
    expect(after).toBeGreaterThan(before + 0.2);
    // keepBest restored the best epoch, so the model now scores what the best epoch scored.
    expect(after).toBeCloseTo(result.best!.value, 6);
  });

  it('gives the same weights for the same seed, and different ones for another seed', async () => {
    const run = async (seed: number) => {
      const student = newStudent();
      await createDistillery({ logger: silentLogger }).runStage(supervisedStage({ student, seed, epochs: 1 }));
      return values(student);
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('says which loss needs which feature the model cannot emit', async () => {
    const wantsHidden = defineLossPlugin({
      name: 'wants-hidden', create: (): DistillationLoss => ({
        name: 'wants-hidden', teacherFeatures: new Set<Feature>(['hidden']), studentFeatures: new Set<Feature>(['logits']),
        variables: [], compute: () => { throw new Error('unreachable'); },
      }),
    });
    const d = createDistillery({ logger: silentLogger, plugins: [wantsHidden] });
    const teacher = newStudent(9).asTeacher();
    await expect(d.runStage(supervisedStage({ teacher, losses: [{ use: 'wants-hidden' }] })))
      .rejects.toThrow(/loss 'wants-hidden' needs feature 'hidden' from the teacher, but teacher mlp\(8-8\) does not emit it \(it emits: logits\)/);
    await expect(d.runStage(supervisedStage({ losses: [{ use: 'wants-hidden' }] })))
      .rejects.toThrow(/needs the teacher's 'hidden' but the stage has no teacher/);
  });

  it('stops on a non-finite loss with the step and term, keeping the last good checkpoint', async () => {
    const dir = await tmp();
    const student = newStudent();
    const d = createDistillery({ logger: silentLogger });
    let weightsAfterStep2: number[][] = [];
    const error = await d.runStage(supervisedStage({
      student, losses: [{ use: 'supervised' }, { use: nanAtStep(3) }],
      checkpoint: { dir, everySteps: 1 },
      callbacks: [{ onStep: (e) => { if (e.step === 2) weightsAfterStep2 = values(student); } }],
    })).catch((e) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect(error.step).toBe(3);
    expect(error.term).toBe('boom');
    expect(error.message).toMatch(/step 3: 'boom' is NaN/);
    expect(error.message).toContain(path.join(dir, 'last'));
    // The bad step changed nothing, and the checkpoint on disk is the step-2 one.
    expect(values(student)).toEqual(weightsAfterStep2);
    const ckpt = await loadCheckpoint(path.join(dir, 'last'));
    expect(ckpt.state.step).toBe(2);
    expect(ckpt.weights.map((w) => Array.from(w.data))).toEqual(weightsAfterStep2);
  });

  // 10 steps per epoch: 13 stops mid-epoch, 10 on an epoch's last step (its evaluation must still run).
  for (const stopAt of [13, 10]) {
    it(`resumes a run interrupted after step ${stopAt} to the same weights as an uninterrupted one`, async () => {
      const stage = (student: MlpClassifier, dir?: string) => supervisedStage({
        student, epochs: 3, optimizer: { learningRate: 0.05, warmupSteps: 3 },
        ...(dir ? { checkpoint: { dir, resume: true } } : {}),
      });
      const full = newStudent();
      const fullResult = await createDistillery({ logger: silentLogger }).runStage(stage(full));

      const dir = await tmp();
      const controller = new AbortController();
      const interrupted = await createDistillery({ logger: silentLogger }).runStage({
        ...stage(newStudent(), dir), callbacks: [{ onStep: (e) => { if (e.step === stopAt) controller.abort(); } }],
      }, { signal: controller.signal });
      expect(interrupted.status).toBe('interrupted');
      expect(interrupted.steps).toBe(stopAt);
      const state = (await loadCheckpoint(path.join(dir, 'last'))).state;
      expect(state).toMatchObject({ step: stopAt, epoch: Math.floor(stopAt / 10), batchInEpoch: stopAt % 10 });
      expect(state.history).toHaveLength(Math.floor(stopAt / 10));

      const resumed = newStudent(99); // different init: everything must come from the checkpoint
      const result = await createDistillery({ logger: silentLogger }).runStage(stage(resumed, dir));
      expect(result.status).toBe('completed');
      expect(result.steps).toBe(30);
      expect(result.history).toEqual(fullResult.history);
      expect(values(resumed)).toEqual(values(full));
    });
  }

  it('writes the best epoch with the student export, atomically replacing the previous best', async () => {
    const dir = await tmp();
    const result = await createDistillery({ logger: silentLogger }).runStage(supervisedStage({ checkpoint: { dir } }));
    const best = await loadCheckpoint(path.join(dir, 'best'));
    expect(best.state.best).toEqual(result.best);
    const restored = await MlpClassifier.load(path.join(dir, 'best', 'model'));
    expect(evaluate(restored, arraySource(validData)).accuracy).toBeCloseTo(result.best!.value, 6);
    const leftovers = (await fs.readdir(dir)).filter((n) => n.includes('.tmp-') || n.includes('.old-'));
    expect(leftovers).toEqual([]);
  });

  it('rejects bad stage values by name', async () => {
    const d = createDistillery({ logger: silentLogger });
    await expect(d.runStage(supervisedStage({ batchSize: 0 }))).rejects.toThrow("stage 'fit' batchSize: expected an integer >= 1, got 0");
    await expect(d.runStage(supervisedStage({ losses: [{ use: 'supervised', weight: -1 }] })))
      .rejects.toThrow("stage 'fit' losses[0].weight: expected a number >= 0, got -1");
    await expect(d.runStage(supervisedStage({ losses: [] }))).rejects.toThrow("stage 'fit' losses: expected at least 1 item, got an empty list");
    await expect(d.runStage(supervisedStage({ optimizer: { learningRate: -1 } })))
      .rejects.toThrow("stage 'fit' optimizer.learningRate: expected a number > 0, got -1");
    // The file's bounds: beta = 1 would divide by zero in AdamW's bias correction.
    await expect(d.runStage(supervisedStage({ optimizer: { beta1: 1 } }))).rejects.toThrow("stage 'fit' optimizer.beta1: expected a number < 1, got 1");
    await expect(d.runStage(supervisedStage({ optimizer: { beta2: 1 } }))).rejects.toThrow("stage 'fit' optimizer.beta2: expected a number < 1, got 1");
    await expect(d.runStage(supervisedStage({ epoch: 3 } as never)))
      .rejects.toThrow("stage 'fit' epoch: unknown key (did you mean 'epochs'?); allowed: name, teacher, student, losses");
    await expect(d.runStage(supervisedStage({ teacher: { stage: 'nope' } })))
      .rejects.toThrow(/stage 'fit' teacher: \{ stage: 'nope' \} names no earlier stage/);
  });
});

describe('pipelines', () => {
  it('hands a stage its predecessor\'s trained student as a frozen teacher', async () => {
    const d = createDistillery({ logger: silentLogger });
    let teacherSeen: unknown;
    const spy = defineLossPlugin({
      name: 'spy', create: (_o, env): DistillationLoss => ({
        name: 'spy', teacherFeatures: new Set<Feature>(['logits']), studentFeatures: new Set<Feature>(['logits']), variables: [],
        compute: ({ teacher, student }) => {
          teacherSeen ??= teacher.logits!.arraySync();
          void env;
          return tf.tidy(() => { const t = tf.mean(tf.squaredDifference(teacher.logits!, student.logits!)) as tf.Scalar; return { total: t, terms: { mse: t } }; });
        },
      }),
    });
    d.use(spy);
    const result = await d.run([
      supervisedStage({ name: 'teacher', epochs: 2 }),
      { ...supervisedStage({ name: 'distil', epochs: 1, batchSize: 160 }), teacher: { stage: 'teacher' }, losses: [{ use: 'spy' }] },
    ]);
    expect(result.status).toBe('completed');
    const trainedTeacher = result.students.get('teacher')! as MlpClassifier;
    expect(trainedTeacher).not.toBe(result.students.get('distil'));
    // The first (only) batch of stage 2 covers the whole train set in its shuffled order: compare per row sets.
    const batch = arraySource(trainData).batch(Array.from({ length: 160 }, (_, i) => i));
    const expected = (trainedTeacher.forward(batch, new Set(['logits'])).logits!.arraySync() as number[][]).map((r) => r.join(',')).sort();
    expect((teacherSeen as number[][]).map((r) => r.join(',')).sort()).toEqual(expected);
  });

  it("trains the losses' own variables with the student", async () => {
    const scale = tf.variable(tf.scalar(0), true, 'test/loss-scale');
    // A loss with a learnable part: (scale - 3)^2 pulls scale to 3 while the student trains too.
    const withVariable: DistillationLoss = {
      name: 'learnable', teacherFeatures: new Set(), studentFeatures: new Set<Feature>(['logits']), variables: [scale],
      compute: ({ student }) => tf.tidy(() => {
        const pull = tf.square(tf.sub(scale, 3)) as tf.Scalar;
        const total = tf.add(pull, tf.mul(tf.mean(student.logits!), 0)) as tf.Scalar;
        return { total, terms: { pull } } as never;
      }),
    };
    await createDistillery({ logger: silentLogger }).runStage(supervisedStage({
      losses: [{ use: 'supervised' }, { use: withVariable }], epochs: 6, optimizer: { learningRate: 0.1, schedule: 'constant' },
      evaluation: { keepBest: false },
    }));
    expect(scale.dataSync()[0]).toBeGreaterThan(2.5);
    scale.dispose();
  });

  it("takes a source's own epoch batches (e.g. length buckets) when it defines them", async () => {
    const base = arraySource(trainData);
    const seen: number[][] = [];
    const bucketed = {
      size: base.size,
      batch: (indices: readonly number[]) => { seen.push([...indices]); return base.batch(indices); },
      // Two uneven batches per epoch, ordered by the epoch number.
      epochBatches: (epoch: number) => {
        const all = Array.from({ length: base.size }, (_, i) => i);
        const parts = [all.slice(0, 100), all.slice(100)];
        return epoch % 2 ? parts.reverse() : parts;
      },
    };
    const result = await createDistillery({ logger: silentLogger }).runStage(supervisedStage({
      data: { train: bucketed }, epochs: 2, evaluation: { keepBest: false },
    }));
    expect(result.steps).toBe(4);
    expect(seen.map((b) => b.length)).toEqual([100, 60, 60, 100]);
  });

  it('frees a teacher built from a plugin when its stage ends, but not one handed in', async () => {
    const built: MlpClassifier[] = [];
    const mlpTeacher = defineTeacherPlugin<{ seed: number }>({
      name: 'mlp', create: ({ seed }) => {
        const m = newStudent(seed);
        built.push(m);
        return Object.assign(m.asTeacher(), { dispose: () => m.dispose() });
      },
    });
    const spyLoss: DistillationLoss = {
      name: 'spy', teacherFeatures: new Set<Feature>(['logits']), studentFeatures: new Set<Feature>(['logits']), variables: [],
      compute: ({ teacher, student }) => tf.tidy(() => {
        const t = tf.mean(tf.squaredDifference(teacher.logits!, student.logits!)) as tf.Scalar;
        return { total: t, terms: {} };
      }),
    };
    const handedIn = newStudent(11);
    const d = createDistillery({ logger: silentLogger, plugins: [mlpTeacher] });
    await d.runStage(supervisedStage({ teacher: { use: 'mlp', options: { seed: 3 } }, losses: [{ use: spyLoss }], epochs: 1 }));
    await d.runStage(supervisedStage({ teacher: handedIn.asTeacher(), losses: [{ use: spyLoss }], epochs: 1 }));
    expect(built).toHaveLength(1);
    expect(built[0].trainableVariables.every((v) => v.isDisposed)).toBe(true);
    expect(handedIn.trainableVariables.some((v) => v.isDisposed)).toBe(false);
    handedIn.dispose();
  });
});

