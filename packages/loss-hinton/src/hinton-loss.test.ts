import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, checkOptionKeys, createDistillery, DistilleryError, pluginJsonSchema, selectBackend, silentLogger,
  type Batch, type LossContext, type ModelInfo, type PluginEnv,
} from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { expectClose, expectComputeLeavesNoTensors, MlpClassifier, syntheticTask, thrown, thrownWithoutLeaks } from '@distillery/core/testing';
import { hinton, hintonLoss, hintonOptions, type HintonOptions } from './index.js';

// ---- float64 reference, written out with loops over plain numbers (no tfjs, no plugin code) ----

type Matrix = number[][];

function refLogSoftmax(row: number[], T: number): number[] {
  let max = -Infinity;
  for (const z of row) max = Math.max(max, z / T);
  let sum = 0;
  for (const z of row) sum += Math.exp(z / T - max);
  const lse = max + Math.log(sum);
  return row.map((z) => z / T - lse);
}

function refSoft(zt: Matrix, zs: Matrix, T: number, softLoss: 'kl' | 'ce' | 'mse', reduction = 'batchmean'): number {
  const B = zs.length, C = zs[0].length;
  let acc = 0;
  for (let i = 0; i < B; i++) {
    if (softLoss === 'mse') {
      for (let c = 0; c < C; c++) acc += (zs[i][c] - zt[i][c]) ** 2;
      continue;
    }
    const lt = refLogSoftmax(zt[i], T), ls = refLogSoftmax(zs[i], T);
    for (let c = 0; c < C; c++) {
      const pt = Math.exp(lt[c]);
      acc += softLoss === 'kl' ? pt * (lt[c] - ls[c]) : -pt * ls[c];
    }
  }
  if (softLoss === 'mse') return acc / (B * C);
  if (softLoss === 'ce') return acc / B;
  return (T * T * acc) / (reduction === 'mean' ? B * C : B);
}

function refHard(zs: Matrix, labels: number[]): number {
  const B = zs.length, C = zs[0].length;
  let acc = 0;
  for (let i = 0; i < B; i++) {
    if (C === 1) acc += (zs[i][0] - labels[i]) ** 2;
    else acc -= refLogSoftmax(zs[i], 1)[labels[i]];
  }
  return acc / B;
}

// ---- helpers ----

const randomMatrix = (rng: Rng, rows: number, cols: number, scale: number): Matrix =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal() * scale));

const INFO: ModelInfo = { numLayers: 1, hiddenSize: 4, numHeads: 1, numLabels: 5 };

/** A context over fresh tensors; `dispose` frees them. */
function context(zt: Matrix, zs: Matrix, labels?: number[], regression = false) {
  const batch: Batch = {
    inputIds: tf.zeros([zs.length, 2], 'int32') as tf.Tensor2D,
    attentionMask: tf.ones([zs.length, 2], 'int32') as tf.Tensor2D,
  };
  if (labels) batch.labels = tf.tensor1d(labels, regression ? 'float32' : 'int32');
  const ctx: LossContext = {
    teacher: { logits: tf.tensor2d(zt) }, student: { logits: tf.tensor2d(zs) }, batch,
    teacherInfo: INFO, studentInfo: INFO, step: 1,
  };
  const dispose = () => tf.dispose([ctx.teacher.logits!, ctx.student.logits!, batch.inputIds, batch.attentionMask,
    ...(batch.labels ? [batch.labels] : [])]);
  return { ctx, dispose };
}

/** Runs compute and reads every returned scalar, disposing the tensors. */
function run(options: HintonOptions, zt: Matrix, zs: Matrix, labels?: number[], regression = false) {
  const { ctx, dispose } = context(zt, zs, labels, regression);
  try {
    const { total, terms } = hintonLoss(options).compute(ctx);
    const read = { total: total.dataSync()[0], soft: terms.soft.dataSync()[0], hard: terms.hard?.dataSync()[0], keys: Object.keys(terms) };
    tf.dispose([total, ...Object.values(terms)]);
    return read;
  } finally {
    dispose();
  }
}

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
});

// ---- values ----

describe('hinton values against a float64 reference', () => {
  const B = 6, C = 5;
  const rng = new Rng(1234);
  const zt = randomMatrix(rng, B, C, 3);
  const zs = randomMatrix(rng, B, C, 3);
  const labels = Array.from({ length: B }, () => rng.int(C));

  for (const softLoss of ['kl', 'ce', 'mse'] as const) {
    for (const T of [1, 2, 4, 10]) {
      it(`softLoss '${softLoss}', T = ${T}, with labels`, () => {
        const hardWeight = 0.3;
        const got = run({ softLoss, temperature: T, hardWeight }, zt, zs, labels);
        const soft = refSoft(zt, zs, T, softLoss);
        const hard = refHard(zs, labels);
        expectClose(got.soft, soft, 'soft');
        expectClose(got.hard!, hard, 'hard');
        expectClose(got.total, hardWeight * hard + (1 - hardWeight) * soft, 'total');
      });

      it(`softLoss '${softLoss}', T = ${T}, without labels: total = soft, no hard term`, () => {
        const got = run({ softLoss, temperature: T }, zt, zs);
        expect(got.keys).toEqual(['soft']);
        expectClose(got.soft, refSoft(zt, zs, T, softLoss), 'soft');
        expectClose(got.total, refSoft(zt, zs, T, softLoss), 'total');
      });
    }
  }

  it('defaults are T = 4, γ = 0.5, kl, batchmean', () => {
    const got = run({}, zt, zs, labels);
    const soft = refSoft(zt, zs, 4, 'kl');
    expectClose(got.soft, soft, 'soft');
    expectClose(got.total, 0.5 * refHard(zs, labels) + 0.5 * soft, 'total');
  });

  it('kl scales with T² (T = 1 and T = 4 differ)', () => {
    // Guards against dropping the T² factor: KL at T=4 without it would be ~16x smaller.
    const withT2 = run({ temperature: 4 }, zt, zs).soft;
    expectClose(withT2, refSoft(zt, zs, 4, 'kl'));
    expect(Math.abs(withT2 - refSoft(zt, zs, 4, 'kl') / 16)).toBeGreaterThan(1e-3);
  });

  for (const T of [1, 4]) {
    it(`reduction 'mean' divides the kl sum by B·C, 'batchmean' by B (T = ${T})`, () => {
      const mean = run({ temperature: T, reduction: 'mean' }, zt, zs).soft;
      const batchmean = run({ temperature: T, reduction: 'batchmean' }, zt, zs).soft;
      expectClose(mean, refSoft(zt, zs, T, 'kl', 'mean'), 'mean');
      expectClose(batchmean, refSoft(zt, zs, T, 'kl', 'batchmean'), 'batchmean');
      expectClose(batchmean / mean, C, 'ratio');
    });
  }

  for (const hardWeight of [0, 1]) {
    it(`hardWeight ${hardWeight} keeps only the ${hardWeight ? 'hard' : 'soft'} term in total`, () => {
      const got = run({ hardWeight }, zt, zs, labels);
      expectClose(got.total, hardWeight ? refHard(zs, labels) : refSoft(zt, zs, 4, 'kl'));
    });
  }

  it('identical logits give zero kl and mse', () => {
    expectClose(run({ softLoss: 'kl' }, zt, zt).soft, 0);
    expectClose(run({ softLoss: 'mse' }, zt, zt).soft, 0);
  });

  it('a one-output regression head: soft mse and hard mse against float labels', () => {
    const r = new Rng(9);
    const t1 = randomMatrix(r, 4, 1, 2), s1 = randomMatrix(r, 4, 1, 2);
    const y = Array.from({ length: 4 }, () => r.normal());
    const got = run({ softLoss: 'mse', hardWeight: 0.25 }, t1, s1, y, true);
    expectClose(got.soft, refSoft(t1, s1, 4, 'mse'), 'soft');
    expectClose(got.hard!, refHard(s1, y), 'hard');
    expectClose(got.total, 0.25 * refHard(s1, y) + 0.75 * refSoft(t1, s1, 4, 'mse'), 'total');
  });
});

// ---- partly labelled batches (label -100 = hidden) ----

describe('hinton with hidden labels (-100)', () => {
  const B = 6, C = 5;
  const rng = new Rng(4321);
  const zt = randomMatrix(rng, B, C, 3);
  const zs = randomMatrix(rng, B, C, 3);
  const labels = [3, -100, 0, -100, 4, -100];
  const shown = [0, 2, 4];
  const gamma = 0.3;

  it('the hard term is the cross-entropy of the labelled rows only; soft uses every row', () => {
    const got = run({ hardWeight: gamma }, zt, zs, labels);
    const hard = refHard(shown.map((i) => zs[i]), shown.map((i) => labels[i]));
    const soft = refSoft(zt, zs, 4, 'kl');
    expectClose(got.hard!, hard, 'hard');
    expectClose(got.soft, soft, 'soft');
    expectClose(got.total, gamma * hard + (1 - gamma) * soft, 'total');
  });

  it('every label hidden: hard is 0 (not NaN) and total = (1 − γ)·soft, unlike a batch without labels (total = soft)', () => {
    const got = run({ hardWeight: gamma }, zt, zs, labels.map(() => -100));
    expect(got.keys).toEqual(['hard', 'soft']);
    expect(got.hard).toBe(0);
    expectClose(got.total, (1 - gamma) * refSoft(zt, zs, 4, 'kl'), 'total');
    expectClose(run({ hardWeight: gamma }, zt, zs).total, refSoft(zt, zs, 4, 'kl'), 'total without labels');
  });

  it('a regression head leaves hidden targets out of its hard MSE', () => {
    const t1 = randomMatrix(rng, 4, 1, 2), s1 = randomMatrix(rng, 4, 1, 2);
    const got = run({ softLoss: 'mse', hardWeight: 0.25 }, t1, s1, [0.5, -100, 1.5, -100], true);
    expectClose(got.hard!, refHard([s1[0], s1[2]], [0.5, 1.5]), 'hard');
    expectClose(got.total, 0.25 * got.hard! + 0.75 * refSoft(t1, s1, 4, 'mse'), 'total');
  });

  it("a hidden row's logits get exactly 0 gradient from the hard term", () => {
    const loss = hintonLoss({ hardWeight: gamma });
    const { ctx, dispose } = context(zt, zs, labels);
    const g = tf.grad((s: tf.Tensor) => loss.compute({ ...ctx, student: { logits: s } }).terms.hard)(ctx.student.logits!);
    const rows = g.arraySync() as number[][];
    tf.dispose(g);
    dispose();
    for (const i of [1, 3, 5]) expect(rows[i].every((v) => v === 0)).toBe(true);
    // Labelled rows: (softmax(z) − onehot(y)) / 3, the gradient of the mean over the 3 labelled rows.
    for (const i of shown) {
      const p = refLogSoftmax(zs[i], 1).map(Math.exp);
      rows[i].forEach((v, c) => expectClose(v, (p[c] - (c === labels[i] ? 1 : 0)) / shown.length, `d hard/dz[${i}][${c}]`));
    }
  });

  for (const hidden of [labels, labels.map(() => -100)]) {
    it(`leaves no tensors behind (${hidden.every((l) => l === -100) ? 'every' : 'half the'} labels hidden)`, () => {
      const { ctx, dispose } = context(zt, zs, hidden);
      expectComputeLeavesNoTensors(hintonLoss({ hardWeight: gamma }), ctx);
      dispose();
    });
  }
});

// ---- gradients ----

describe('hinton gradient of the soft term', () => {
  const B = 3, C = 4;
  const rng = new Rng(77);
  const zt = randomMatrix(rng, B, C, 2);
  const zs = randomMatrix(rng, B, C, 2);

  for (const [softLoss, T] of [['kl', 4], ['kl', 1], ['ce', 2], ['mse', 4]] as const) {
    it(`d soft / d student logits matches central differences ('${softLoss}', T = ${T})`, () => {
      const loss = hintonLoss({ softLoss, temperature: T });
      const { ctx, dispose } = context(zt, zs);
      const grad = tf.grad((s: tf.Tensor) => loss.compute({ ...ctx, student: { logits: s } }).terms.soft);
      const g = grad(ctx.student.logits!);
      const analytic = g.arraySync() as number[][];
      tf.dispose(g);
      dispose();
      const h = 1e-5;
      for (let i = 0; i < B; i++) {
        for (let c = 0; c < C; c++) {
          const plus = zs.map((r) => [...r]), minus = zs.map((r) => [...r]);
          plus[i][c] += h; minus[i][c] -= h;
          const numeric = (refSoft(zt, plus, T, softLoss) - refSoft(zt, minus, T, softLoss)) / (2 * h);
          expectClose(analytic[i][c], numeric, `d/dz[${i}][${c}]`);
        }
      }
      // Not trivially zero: the student differs from the teacher.
      expect(analytic.flat().some((v) => Math.abs(v) > 1e-3)).toBe(true);
    });
  }
});

// ---- memory ----

describe('hinton memory', () => {
  const rng = new Rng(5);
  const zt = randomMatrix(rng, 4, 3, 1), zs = randomMatrix(rng, 4, 3, 1);

  for (const labels of [[0, 2, 1, 1], undefined]) {
    it(`leaves no tensors behind (${labels ? 'with' : 'without'} labels)`, () => {
      const { ctx, dispose } = context(zt, zs, labels);
      const loss = hintonLoss({ temperature: 2 });
      expectComputeLeavesNoTensors(loss, ctx);
      dispose();
    });
  }

  it('leaves no tensors behind when compute throws after the soft term was built', () => {
    // Three labels for two rows: hardLabelLoss throws once soft's tensors exist.
    const { ctx, dispose } = context([[1, 0], [2, 0]], [[1, 0], [3, 0]], [0, 1, 1]);
    expect(thrownWithoutLeaks(() => hintonLoss().compute(ctx))).toBeInstanceOf(DistilleryError);
    dispose();
  });
});

// ---- errors ----

describe('hinton errors', () => {
  const fails = (options: HintonOptions, zt: Matrix, zs: Matrix, labels?: number[]) => {
    const { ctx, dispose } = context(zt, zs, labels);
    try {
      return thrown(() => hintonLoss(options).compute(ctx));
    } finally {
      dispose();
    }
  };

  it('mismatched logits shapes name the feature and both shapes', () => {
    const e = fails({}, randomMatrix(new Rng(1), 4, 3, 1), randomMatrix(new Rng(2), 4, 5, 1));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toContain('logits');
    expect(e.message).toContain('[4, 3]');
    expect(e.message).toContain('[4, 5]');
  });

  it('rejects logits that are not rank 2', () => {
    const { ctx, dispose } = context([[1, 2]], [[1, 2]]);
    const ctx3 = { ...ctx, student: { logits: tf.zeros([1, 1, 2]) }, teacher: { logits: tf.zeros([1, 1, 2]) } };
    expect(() => hintonLoss().compute(ctx3)).toThrow(/logits.*\[1, 1, 2\].*rank 2/);
    tf.dispose([ctx3.student.logits, ctx3.teacher.logits]);
    dispose();
  });

  it('names a missing feature and the model', () => {
    const { ctx, dispose } = context([[1, 2]], [[1, 2]]);
    expect(() => hintonLoss().compute({ ...ctx, teacher: {} })).toThrow(/logits.*teacher/);
    dispose();
  });

  it.each([0, -1, Number.NaN, Infinity, '4'])('rejects temperature %s', (temperature) => {
    expect(() => hintonLoss({ temperature } as unknown as HintonOptions)).toThrow(/temperature/);
  });

  it.each([-0.1, 1.5, Number.NaN])('rejects hardWeight %s', (hardWeight) => {
    expect(() => hintonLoss({ hardWeight })).toThrow(/hardWeight/);
  });

  it('rejects an unknown softLoss, naming it and the choices', () => {
    expect(() => hintonLoss({ softLoss: 'kld' } as unknown as HintonOptions)).toThrow('hinton options.softLoss: expected one of "kl", "ce", "mse", got "kld"');
  });

  it('rejects an unknown reduction, and reduction mean where it would do nothing', () => {
    expect(() => hintonLoss({ reduction: 'sum' } as unknown as HintonOptions)).toThrow(/reduction.*sum/);
    expect(() => hintonLoss({ reduction: 'mean', softLoss: 'ce' })).toThrow(/reduction.*'kl'/);
  });

  it('refuses kl and ce on a one-output head, naming the shape and suggesting mse', () => {
    for (const softLoss of ['kl', 'ce'] as const) {
      const e = fails({ softLoss }, [[0.5], [1]], [[0.2], [0.1]]);
      expect(e.message).toContain('[2, 1]');
      expect(e.message).toContain(`softLoss 'mse'`);
    }
  });

  it('passes bad labels on to hardLabelLoss, named hinton', () => {
    const e = fails({}, [[1, 2], [3, 4]], [[1, 2], [3, 4]], [0, 1, 1]);
    expect(e.message).toMatch(/^hinton: .*labels \[3\]/);
  });
});

// ---- plugin ----

describe('hinton plugin', () => {
  const env: PluginEnv = {
    teacherInfo: INFO, studentInfo: INFO, seed: 1, logger: silentLogger,
    resolveMapping: () => { throw new Error('unused'); },
  };

  it('registers with a Distillery and is found by name', () => {
    const d = createDistillery({ logger: silentLogger }).use(hinton);
    const found = d.plugins.get('loss', 'hinton');
    expect(found).toBe(hinton);
    const loss = found.create({ temperature: 2 }, env);
    expect(loss.name).toBe('hinton');
    expect([...loss.teacherFeatures]).toEqual(['logits']);
    expect([...loss.studentFeatures]).toEqual(['logits']);
    expect(loss.variables).toEqual([]);
    const zt = [[1, 0, -1]], zs = [[0, 1, 0]];
    expectClose(run({ temperature: 2 }, zt, zs).soft, refSoft(zt, zs, 2, 'kl'));
  });

  it('declares exactly its option keys as a schema, with their defaults, and rejects unknown ones', () => {
    expect(Object.keys(hinton.options.shape).sort()).toEqual(['hardWeight', 'reduction', 'softLoss', 'temperature']);
    expect(Object.keys(pluginJsonSchema(hinton).properties as object).sort()).toEqual(['hardWeight', 'reduction', 'softLoss', 'temperature']);
    expect(hintonOptions.parse({})).toEqual({ temperature: 4, hardWeight: 0.5, softLoss: 'kl', reduction: 'batchmean' });
    expect(() => checkOptionKeys(hinton, { temperature: 2, hardWeight: 0.1, softLoss: 'ce' }, 'here')).not.toThrow();
    expect(() => checkOptionKeys(hinton, { temprature: 2 }, 'here')).toThrow(/temprature.*hinton/);
    expect(() => checkOptionKeys(hinton, { temprature: 2 }, 'here')).toThrow("here.options.temprature: unknown option for loss " +
      "plugin 'hinton' (did you mean 'temperature'?); allowed: temperature, hardWeight, softLoss, reduction");
  });

  it('create() validates options', () => {
    expect(() => hinton.create({ temperature: -2 }, env)).toThrow(/temperature.*-2/);
    expect(() => hinton.create({ temperature: -2 }, env)).toThrow('hinton options.temperature: expected a number > 0, got -2');
  });
});

// ---- in a stage ----

describe('hinton in a stage', () => {
  const models: MlpClassifier[] = [];
  afterAll(() => models.forEach((m) => m.dispose()));

  it('trains a student from a teacher and reports hinton.hard and hinton.soft', async () => {
    const task = syntheticTask({ numClasses: 3, vocabSize: 40, seqLength: 8, size: 64 });
    const teacher = new MlpClassifier({ vocabSize: 40, embeddingSize: 16, hiddenSizes: [16], numLabels: 3, seed: 1 });
    const student = new MlpClassifier({ vocabSize: 40, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed: 2 });
    models.push(teacher, student);
    const steps: Record<string, number>[] = [];
    const d = createDistillery({ logger: silentLogger }).use(hinton);
    const result = await d.runStage({
      name: 'kd', teacher, student,
      losses: [{ use: 'hinton', options: { temperature: 4 } }],
      data: { train: arraySource(task) },
      batchSize: 16, maxSteps: 8, optimizer: { learningRate: 1e-2 },
      callbacks: [{ onStep: (e) => { steps.push(e.terms); } }],
    });
    expect(result.status).toBe('completed');
    expect(steps).toHaveLength(8);
    expect(Object.keys(steps[0]).sort()).toEqual(['hinton', 'hinton.hard', 'hinton.soft']);
    expect(steps.at(-1)!['hinton.soft']).toBeLessThan(steps[0]['hinton.soft']);
  });
});
