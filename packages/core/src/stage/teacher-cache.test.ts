import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, selectBackend, silentLogger,
  type Batch, type BatchSource, type DistillationLoss, type Feature, type StageConfig, type Teacher, type TeacherCacheHook,
  type TeacherCacheRequest,
} from '@distillery/core';
import { MlpClassifier, stepRecorder, syntheticTask } from '@distillery/core/testing';

const task = { numClasses: 3, vocabSize: 30, seqLength: 6 };
const train = arraySource(syntheticTask({ ...task, size: 40, seed: 1 }));
const validation = arraySource(syntheticTask({ ...task, size: 12, seed: 2 }));
const LOGITS: ReadonlySet<Feature> = new Set(['logits']);
const mlp = (width: number, seed: number) => new MlpClassifier({ vocabSize: task.vocabSize, embeddingSize: width, hiddenSizes: [width], numLabels: 3, seed });

/** mean over rows and classes of (teacher − student logits)²; reads no student logits when `head` is false. */
const logitMse = (): DistillationLoss => ({
  name: 'mse', teacherFeatures: LOGITS, studentFeatures: LOGITS, variables: [],
  compute: ({ teacher, student }) => ({ total: tf.tidy(() => tf.mean(tf.squaredDifference(teacher.logits!, student.logits!))) as tf.Scalar, terms: {} }),
});

/** A teacher whose forward calls are counted, and which refuses the batches of `refused`. */
function countedTeacher(model: MlpClassifier, refused?: WeakSet<Batch>) {
  const calls = { n: 0 };
  const teacher: Teacher = {
    name: 'live', info: model.info, emits: model.emits,
    forward: (batch, features) => {
      if (refused?.has(batch)) throw new Error('the live teacher saw a training batch');
      calls.n++;
      return model.forward(batch, features);
    },
  };
  return { teacher, calls };
}

/**
 * An in-memory cache: the live teacher's logits of every example, computed once; the served source
 * records the indices of each batch it hands out (as @distillery/data's cachedTeacher does).
 */
function memoryCache(requests: TeacherCacheRequest[], trainBatches: WeakSet<Batch>) {
  const served = { forwards: 0 };
  let stored: tf.Tensor2D | undefined;
  const hook: TeacherCacheHook = async (request) => {
    requests.push(request);
    const all = request.train.batch(Array.from({ length: request.train.size }, (_, i) => i));
    stored = tf.keep(request.teacher.forward(all, LOGITS).logits as tf.Tensor2D);
    tf.dispose(Object.values(all));
    const indices = new WeakMap<Batch, number[]>();
    const source: BatchSource = {
      size: request.train.size,
      batch: (ids) => { const b = request.train.batch(ids); indices.set(b, [...ids]); trainBatches.add(b); return b; },
    };
    const teacher: Teacher = {
      ...request.teacher, name: 'cached',
      forward: (batch) => { served.forwards++; return { logits: tf.gather(stored!, indices.get(batch)!) }; },
    };
    return { teacher, train: source };
  };
  return { hook, served, dispose: () => stored?.dispose() };
}

const kdStage = (teacher: Teacher, overrides: Partial<StageConfig> = {}): StageConfig => ({
  name: 'kd', teacher, student: overrides.student ?? mlp(8, 3), losses: [{ use: logitMse() }],
  data: { train, validation }, batchSize: 8, epochs: 2, optimizer: { learningRate: 0.05 },
  // 'loss' makes evaluation run the teacher on validation batches.
  evaluation: { metric: 'loss' }, ...overrides,
});

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

describe('teacherCache', () => {
  it('serves the training steps only: same losses as the live teacher, evaluation on the live one, no leak', async () => {
    const model = mlp(16, 1);
    const live = countedTeacher(model);
    const plain = stepRecorder();
    const d = createDistillery({ logger: silentLogger });
    const reference = await d.runStage(kdStage(live.teacher, { callbacks: [plain.callback] }));
    const liveCalls = live.calls.n;
    expect(liveCalls).toBe(10 + 2 * 2);  // 10 steps, and 2 evaluations of 2 validation batches

    const trainBatches = new WeakSet<Batch>();
    const guarded = countedTeacher(model, trainBatches);
    const requests: TeacherCacheRequest[] = [];
    const cache = memoryCache(requests, trainBatches);
    const recorded = stepRecorder();
    const before = tf.memory().numTensors;
    const result = await d.runStage(kdStage(guarded.teacher, { teacherCache: cache.hook, callbacks: [recorded.callback] }));
    cache.dispose();
    result.student.dispose?.();
    reference.student.dispose?.();
    expect(tf.memory().numTensors).toBe(before - reference.student.trainableVariables.length);

    expect(requests).toHaveLength(1);
    expect(requests[0].stage).toBe('kd');
    expect(requests[0].teacher).toBe(guarded.teacher);
    expect(requests[0].train).toBe(train);
    expect([...requests[0].features]).toEqual(['logits']);
    expect(cache.served.forwards).toBe(10);
    // The one pass that built the cache, then the evaluations only.
    expect(guarded.calls.n).toBe(1 + 2 * 2);
    expect(recorded.steps.map((s) => s.loss)).toHaveLength(10);
    recorded.steps.forEach((s, i) => expect(Math.abs(s.loss - plain.steps[i].loss)).toBeLessThan(1e-6 * Math.max(1, Math.abs(plain.steps[i].loss))));
    expect(result.history.map((h) => h.metrics.loss)).toEqual(reference.history.map((h) => h.metrics.loss).map((v) => expect.closeTo(v, 6)));
    // Live tensors stay level from step to step.
    expect(new Set(recorded.counts).size).toBe(1);
    model.dispose();
  });

  it('is not asked when the losses read nothing from the teacher, nor for a stage resumed complete; false and true are inert', async () => {
    const model = mlp(16, 1);
    const requests: TeacherCacheRequest[] = [];
    const cache = memoryCache(requests, new WeakSet());
    const d = createDistillery({ logger: silentLogger });
    const supervisedOnly = await d.runStage(kdStage(model.asTeacher(), { losses: [{ use: 'supervised' }], teacherCache: cache.hook, evaluation: {} }));
    supervisedOnly.student.dispose?.();
    expect(requests).toHaveLength(0);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-'));
    const first = await d.runStage(kdStage(model.asTeacher(), { checkpoint: { dir } }));
    first.student.dispose?.();
    const resumed = await d.runStage(kdStage(model.asTeacher(), { checkpoint: { dir, resume: true }, teacherCache: cache.hook }));
    resumed.student.dispose?.();
    expect(resumed.steps).toBe(10);
    expect(requests).toHaveLength(0);

    for (const flag of [false, true]) {
      const run = await d.runStage(kdStage(model.asTeacher(), { teacherCache: flag, maxSteps: 2 }));
      run.student.dispose?.();
      expect(run.steps).toBe(2);
    }
    cache.dispose();
    model.dispose();
  });

  it('names what the hook got wrong', async () => {
    const model = mlp(16, 1);
    const d = createDistillery({ logger: silentLogger });
    const cases: [TeacherCacheHook, RegExp][] = [
      [({ teacher }) => ({ teacher, train: arraySource(syntheticTask({ ...task, size: 5, seed: 1 })) }),
        /^stage 'kd': teacherCache: the served source has 5 examples but data\.train has 40$/],
      [({ teacher, train: t }) => ({ teacher: { ...teacher, name: 'mute', emits: new Set<Feature>() }, train: t }),
        /^stage 'kd': teacherCache: the served teacher mute does not emit 'logits', which the losses read$/],
      [() => ({ train }) as never, /^stage 'kd': teacherCache: expected \{ teacher, train \} \(a teacher and a batch source\) or undefined, got/],
    ];
    for (const [hook, message] of cases) {
      const student = mlp(8, 3);
      const before = tf.memory().numTensors;
      await expect(d.runStage(kdStage(model.asTeacher(), { student, teacherCache: hook }))).rejects.toThrow(message);
      // The stage frees what it built (optimizer moments, best weights) when the hook fails.
      expect(tf.memory().numTensors).toBe(before);
      student.dispose();
    }
    // undefined: the live teacher trains the stage.
    const kept = await d.runStage(kdStage(model.asTeacher(), { teacherCache: () => undefined, maxSteps: 3 }));
    expect(kept.steps).toBe(3);
    kept.student.dispose?.();
    model.dispose();
  });
});
