// Who frees which model (see the Distillery doc comment), and the models onStageStart hands to callbacks.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createDistillery, defineStudentPlugin, defineTeacherPlugin, selectBackend, silentLogger,
  type DistillationLoss, type Feature, type StageConfig, type StageModels, type Student, type Teacher,
} from '@distillery/core';
import { linearLoss, Probe, probeData } from './stage/probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** Reads the teacher's logits (so a stage needs its teacher). */
const distil: DistillationLoss = {
  name: 'distil', teacherFeatures: new Set<Feature>(['logits']), studentFeatures: new Set<Feature>(['logits']), variables: [],
  compute: ({ teacher, student }) => ({ total: tf.tidy(() => tf.mean(tf.squaredDifference(teacher.logits!, student.logits!))) as tf.Scalar, terms: {} }),
};

/** A loss that fails at its first step. */
const failing: DistillationLoss = { ...distil, name: 'failing', compute: () => { throw new Error('boom'); } };

/** Model plugins whose models count their dispose() calls; `student` may be told to fail. */
function counted() {
  const disposed = { teacher: 0, student: 0 };
  const made: Probe[] = [];
  const make = (kind: 'teacher' | 'student') => {
    const p = new Probe([1, 0]);
    made.push(p);
    return Object.assign(p, { dispose: () => { disposed[kind]++; Probe.prototype.dispose.call(p); } });
  };
  const teacher = defineTeacherPlugin({ name: 'probe', create: (): Teacher => make('teacher') });
  const student = defineStudentPlugin<{ fail?: 'throw' | 'frozen' }>({
    name: 'probe', create: ({ fail }) => {
      if (fail === 'throw') throw new Error('cannot build the student');
      if (fail === 'frozen') return Object.assign(make('student').asTeacher(), { dispose: () => { disposed.student++; } }) as unknown as Student;
      return make('student');
    },
  });
  const factory = (kind: 'teacher' | 'student') => () => make(kind);
  return { disposed, made, plugins: [teacher, student], factory };
}

const stage = (overrides: Partial<StageConfig>): StageConfig => ({
  name: 'kd', student: { use: 'probe' }, losses: [{ use: distil }], data: { train: probeData(4) }, batchSize: 2, ...overrides,
});

describe('who frees which model', () => {
  it('a teacher built from a plugin or a factory is freed when its stage ends; a student built is handed over', async () => {
    for (const teacherRef of ['plugin', 'factory'] as const) {
      const c = counted();
      const d = createDistillery({ logger: silentLogger, plugins: c.plugins });
      const result = await d.run([stage({ teacher: teacherRef === 'plugin' ? { use: 'probe' } : c.factory('teacher') })]);
      expect(result.status).toBe('completed');
      expect(c.disposed).toEqual({ teacher: 1, student: 0 });
      const student = result.students.get('kd') as Probe;
      expect(student.w.isDisposed).toBe(false);
      student.dispose();
    }
  });

  it('the teacher is freed also when building the student fails (it throws, or makes no trainable model, then freed too)', async () => {
    for (const fail of ['throw', 'frozen'] as const) {
      const c = counted();
      const d = createDistillery({ logger: silentLogger, plugins: c.plugins });
      await expect(d.run([stage({ teacher: { use: 'probe' }, student: { use: 'probe', options: { fail } } })]))
        .rejects.toThrow(fail === 'throw' ? 'cannot build the student' : /stage 'kd' student: probe\(2\) is not trainable/);
      expect(c.disposed).toEqual({ teacher: 1, student: fail === 'frozen' ? 1 : 0 });
    }
  });

  it('when run() throws, the teacher and the students it built are freed, earlier stages\' too; models handed in never are', async () => {
    const c = counted();
    const d = createDistillery({ logger: silentLogger, plugins: c.plugins });
    const handedTeacher = new Probe([0, 1]);
    const handedStudent = new Probe([0, 1]);
    await expect(d.run([
      stage({ name: 'first', teacher: handedTeacher, student: c.factory('student') }),
      stage({ name: 'second', teacher: { stage: 'first' }, student: { use: 'probe' } }),
      stage({ name: 'third', teacher: { use: 'probe' }, student: handedStudent, losses: [{ use: failing }] }),
    ])).rejects.toThrow('boom');
    expect(c.disposed).toEqual({ teacher: 1, student: 2 });
    expect([handedTeacher.w.isDisposed, handedStudent.w.isDisposed]).toEqual([false, false]);
    handedTeacher.dispose();
    handedStudent.dispose();
  });

  it("an earlier stage's student used as teacher ({ stage }) stays alive; an interrupted run hands its students over", async () => {
    const c = counted();
    const d = createDistillery({ logger: silentLogger, plugins: c.plugins });
    const controller = new AbortController();
    const result = await d.run([
      stage({ name: 'first', teacher: new Probe([0, 1]).asTeacher(), student: { use: 'probe' } }),
      stage({ name: 'second', teacher: { stage: 'first' }, student: { use: 'probe' }, callbacks: [{ onStep: () => controller.abort() }] }),
    ], { signal: controller.signal });
    expect(result.status).toBe('interrupted');
    expect(c.disposed).toEqual({ teacher: 0, student: 0 });
    expect([...result.students.keys()]).toEqual(['first', 'second']);
    for (const s of result.students.values()) (s as Probe).dispose();
  });
});

describe('onStageStart', () => {
  it('hands callbacks the models the stage runs with: the built teacher, a frozen view for { stage }, the student', async () => {
    const c = counted();
    const d = createDistillery({ logger: silentLogger, plugins: c.plugins });
    const handed = new Probe([0, 1]);
    const seen: [string, StageModels, number][] = [];
    const record = { onStageStart: (e: { stage: string }, models: StageModels) => { seen.push([e.stage, models, tf.memory().numTensors]); } };
    const result = await d.run([
      stage({ name: 'first', teacher: { use: 'probe' }, student: handed, callbacks: [record] }),
      stage({ name: 'second', teacher: { stage: 'first' }, student: c.factory('student'), callbacks: [record] }),
      stage({ name: 'third', student: { stage: 'second' }, losses: [{ use: linearLoss('lin', () => [1, 1]) }], callbacks: [record] }),
    ]);
    const [first, second, third] = seen.map(([, m]) => m);
    expect(first.student).toBe(handed);
    expect(first.teacher).toBe(c.made[0]);
    expect(second.student).toBe(c.made[1]);
    expect(second.teacher?.name).toBe(handed.name);
    expect(second.teacher).not.toBe(handed);
    expect(third).toEqual({ teacher: undefined, student: c.made[1] });
    expect(result.students.get('third')).toBe(c.made[1]);
    handed.dispose();
    c.made[1].dispose();
  });
});
