import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkOptionKeys, createDistillery, DistilleryError, explicit, selectBackend, silentLogger, uniform, type Batch,
  type LayerPair, type LossContext, type ModelInfo, type PluginEnv,
} from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { expectComputeLeavesNoTensors, expectRel, thrown, thrownWithoutLeaks } from '@distillery/core/testing';
import { pkd, pkdLoss, pkdOptions, pkdPaperLosses, type PkdEnv, type PkdOptions } from './index.js';

// ---- float64 reference, written out with loops over plain numbers (no tfjs, no plugin code) ----

type Seq = number[][][];          // [B][S][H]
type Hidden = Seq[];              // [embeddings, layer 1, ..., layer L]
interface Projection { w: number[][]; b: number[] }   // w [Hs][Ht], b [Ht]

/** patience = mean over B × pairs × H_t of (ĥ_s − ĥ_t)², ĥ the [CLS] vector (projected, then) normalized. */
function refPatience(th: Hidden, sh: Hidden, pairs: LayerPair[], normalize: boolean, proj?: Projection): number {
  const B = th[0].length, Ht = th[0][0][0].length;
  let acc = 0;
  for (const { student, teacher } of pairs) {
    for (let b = 0; b < B; b++) {
      const zt = [...th[teacher][b][0]];
      let zs = [...sh[student][b][0]];
      if (proj) {
        const out: number[] = [];
        for (let j = 0; j < Ht; j++) {
          let v = proj.b[j];
          for (let i = 0; i < zs.length; i++) v += zs[i] * proj.w[i][j];
          out.push(v);
        }
        zs = out;
      }
      if (normalize) {
        for (const z of [zt, zs]) {
          let sq = 0;
          for (const v of z) sq += v * v;
          const norm = Math.max(Math.sqrt(sq), 1e-12);
          for (let j = 0; j < z.length; j++) z[j] /= norm;
        }
      }
      for (let j = 0; j < Ht; j++) acc += (zs[j] - zt[j]) ** 2;
    }
  }
  return acc / (B * pairs.length * Ht);
}

// ---- helpers ----

const zip = (s: number[], t: number[]): LayerPair[] => s.map((student, i) => ({ student, teacher: t[i] }));

/**
 * Hidden states for layers 0..L of a padded batch: the rows have the given lengths, and padded positions
 * hold large garbage (PKD reads position 0 only, so it must not matter). Values are float32-exact.
 */
function hidden(rng: Rng, layers: number, lengths: number[], S: number, H: number, scale = 1): Hidden {
  return Array.from({ length: layers + 1 }, () => lengths.map((len) =>
    Array.from({ length: S }, (_, s) => Array.from({ length: H }, () => Math.fround(rng.normal() * (s < len ? scale : 100))))));
}

const info = (numLayers: number, hiddenSize: number): ModelInfo => ({ numLayers, hiddenSize, numHeads: 2, numLabels: 3 });
const envOf = (n: number, m: number, ht: number, hs: number, extra: Partial<PkdEnv> = {}): PkdEnv =>
  ({ teacherInfo: info(n, ht), studentInfo: info(m, hs), seed: 7, ...extra });

/** A context over fresh tensors (and a padding mask); `dispose` frees them. */
function context(th: Hidden, sh: Hidden, lengths: number[]) {
  const S = th[0][0].length;
  const batch: Batch = {
    inputIds: tf.ones([lengths.length, S], 'int32') as tf.Tensor2D,
    attentionMask: tf.tensor2d(lengths.map((len) => Array.from({ length: S }, (_, s) => (s < len ? 1 : 0))), undefined, 'int32'),
  };
  const ctx: LossContext = {
    teacher: { hidden: th.map((h) => tf.tensor3d(h)) }, student: { hidden: sh.map((h) => tf.tensor3d(h)) }, batch,
    teacherInfo: info(th.length - 1, th[0][0][0].length), studentInfo: info(sh.length - 1, sh[0][0][0].length), step: 1,
  };
  const dispose = () => tf.dispose([...ctx.teacher.hidden!, ...ctx.student.hidden!, batch.inputIds, batch.attentionMask]);
  return { ctx, dispose };
}

/** The projection's weights as plain arrays. */
const projectionOf = (variables: tf.Variable[]): Projection =>
  ({ w: variables[0].arraySync() as number[][], b: variables[1].arraySync() as number[] });

/** Builds the loss, runs compute once and reads the result, disposing every tensor. */
function run(options: PkdOptions, env: PkdEnv, th: Hidden, sh: Hidden, lengths: number[]) {
  const loss = pkdLoss(options, env);
  const { ctx, dispose } = context(th, sh, lengths);
  try {
    const { total, terms } = loss.compute(ctx);
    const read = {
      total: total.dataSync()[0], patience: terms.patience.dataSync()[0], keys: Object.keys(terms),
      proj: loss.variables.length ? projectionOf(loss.variables) : undefined,
    };
    tf.dispose([total, ...Object.values(terms)]);
    return read;
  } finally {
    dispose();
    loss.dispose();
  }
}

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
});

// ---- values ----

describe('pkd patience against a float64 reference', () => {
  const lengths = [5, 3, 1, 4];
  const rng = new Rng(2024);
  const th = hidden(rng, 6, lengths, 5, 8);
  const sh = hidden(rng, 3, lengths, 5, 8);

  for (const normalize of [true, false]) {
    it(`skip, 6→3 pairs student 1, 2 with teacher 2, 4 (normalize ${normalize})`, () => {
      const got = run({ mapping: 'skip', normalize }, envOf(6, 3, 8, 8), th, sh, lengths);
      const want = refPatience(th, sh, zip([1, 2], [2, 4]), normalize);
      expect(got.keys).toEqual(['patience']);
      expectRel(got.patience, want, 'patience');
      expectRel(got.total, want, 'total');
    });

    it(`last, 6→3 pairs student 1, 2 with teacher 4, 5 (normalize ${normalize})`, () => {
      const got = run({ mapping: 'last', normalize }, envOf(6, 3, 8, 8), th, sh, lengths);
      expectRel(got.patience, refPatience(th, sh, zip([1, 2], [4, 5]), normalize), 'patience');
    });
  }

  // LOSSES.md: 12→6, Skip pairs teacher 2,4,6,8,10; Last 7..11 (student layers 1..5).
  it('12→6 uses the paper\'s layers: skip 2,4,6,8,10 and last 7..11', () => {
    const r = new Rng(12);
    const t12 = hidden(r, 12, [4, 2], 4, 6), s6 = hidden(r, 6, [4, 2], 4, 6);
    expectRel(run({ mapping: 'skip' }, envOf(12, 6, 6, 6), t12, s6, [4, 2]).patience,
      refPatience(t12, s6, zip([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]), true), 'skip');
    expectRel(run({ mapping: 'last' }, envOf(12, 6, 6, 6), t12, s6, [4, 2]).patience,
      refPatience(t12, s6, zip([1, 2, 3, 4, 5], [7, 8, 9, 10, 11]), true), 'last');
  });

  it('defaults are skip with normalize on and no projection', () => {
    const got = run({}, envOf(6, 3, 8, 8), th, sh, lengths);
    expectRel(got.patience, refPatience(th, sh, zip([1, 2], [2, 4]), true));
    expect(got.proj).toBeUndefined();
  });

  it('without the option, the stage mapping is used; an explicit option wins over it', () => {
    const stageMapping = explicit({ hidden: zip([2, 1], [1, 5]) });
    const env = envOf(6, 3, 8, 8, { mapping: stageMapping });
    expectRel(run({}, env, th, sh, lengths).patience, refPatience(th, sh, zip([2, 1], [1, 5]), true), 'stage mapping');
    expectRel(run({ mapping: 'last' }, env, th, sh, lengths).patience, refPatience(th, sh, zip([1, 2], [4, 5]), true), 'option');
  });

  it('reads only position 0: padded garbage and other positions change nothing', () => {
    const base = run({}, envOf(6, 3, 8, 8), th, sh, lengths).patience;
    const noisy = (h: Hidden) => h.map((layer) => layer.map((row) => row.map((v, s) => (s === 0 ? v : v.map(() => 1e4)))));
    expectRel(run({}, envOf(6, 3, 8, 8), noisy(th), noisy(sh), lengths).patience, base);
  });

  it('normalized patience ignores the vectors\' scale; identical vectors give 0', () => {
    const scaled = sh.map((layer) => layer.map((row) => row.map((v) => v.map((x) => Math.fround(x * 4)))));
    expectRel(run({}, envOf(6, 3, 8, 8), th, scaled, lengths).patience, run({}, envOf(6, 3, 8, 8), th, sh, lengths).patience);
    const same = [th[0], th[2], th[4], th[6]];
    expectRel(run({}, envOf(6, 3, 8, 8), th, same, lengths).patience, 0, 'identical', 1e-7);
  });

  for (const normalize of [true, false]) {
    it(`projection maps a narrower student (H 4 → 8) before the MSE (normalize ${normalize})`, () => {
      const narrow = hidden(new Rng(3), 3, lengths, 5, 4);
      const got = run({ projection: true, normalize }, envOf(6, 3, 8, 4), th, narrow, lengths);
      expect(got.proj!.w).toHaveLength(4);
      expect(got.proj!.w[0]).toHaveLength(8);
      expectRel(got.patience, refPatience(th, narrow, zip([1, 2], [2, 4]), normalize, got.proj), 'patience');
    });
  }
});

// ---- projection ----

describe('pkd projection', () => {
  it('is seeded from env.seed, U(−1/√H_s, 1/√H_s), trainable, and exposed in variables', () => {
    const make = (seed: number) => pkdLoss({ projection: true }, envOf(4, 2, 8, 16, { seed }));
    const [a, b, c] = [make(1), make(1), make(2)];
    expect(a.variables).toHaveLength(2);
    expect(a.variables.map((v) => v.shape)).toEqual([[16, 8], [8]]);
    expect(a.variables.every((v) => v.trainable)).toBe(true);
    const values = (l: typeof a) => l.variables.flatMap((v) => Array.from(v.dataSync()));
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    expect(values(a).every((v) => Math.abs(v) <= 1 / Math.sqrt(16))).toBe(true);
    expect(Math.max(...values(a).map(Math.abs))).toBeGreaterThan(0.5 / Math.sqrt(16));
    const before = tf.memory().numTensors;
    [a, b, c].forEach((l) => l.dispose());
    expect(tf.memory().numTensors).toBe(before - 6);
  });

  it('is used when asked for even at equal sizes, and absent otherwise', () => {
    const withProj = pkdLoss({ projection: true }, envOf(4, 2, 8, 8));
    expect(withProj.variables).toHaveLength(2);
    withProj.dispose();
    expect(pkdLoss({}, envOf(4, 2, 8, 8)).variables).toEqual([]);
  });
});

// ---- gradients ----

describe('pkd gradients against central differences of the reference', () => {
  const lengths = [3, 2, 1];
  const rng = new Rng(99);
  const th = hidden(rng, 4, lengths, 3, 5);
  const sh = hidden(rng, 2, lengths, 3, 5);

  for (const normalize of [true, false]) {
    it(`d patience / d student hidden[1] (normalize ${normalize})`, () => {
      const loss = pkdLoss({ normalize }, envOf(4, 2, 5, 5));
      const { ctx, dispose } = context(th, sh, lengths);
      const layer = ctx.student.hidden![1];
      const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { hidden: [ctx.student.hidden![0], x, ctx.student.hidden![2]] } })
        .terms.patience)(layer);
      const analytic = g.arraySync() as number[][][];
      tf.dispose(g);
      dispose();
      const h = 1e-6;
      const maxAbs = Math.max(...analytic.flat(2).map(Math.abs));
      expect(maxAbs).toBeGreaterThan(1e-3);
      for (let b = 0; b < lengths.length; b++) {
        for (let s = 0; s < 3; s++) {
          for (let j = 0; j < 5; j++) {
            const at = (d: number) => {
              const copy: Hidden = sh.map((l) => l.map((row) => row.map((v) => [...v])));
              copy[1][b][s][j] += d;
              return refPatience(th, copy, zip([1], [2]), normalize);
            };
            const numeric = (at(h) - at(-h)) / (2 * h);
            // Positions other than [CLS] get exactly zero; the rest match to 1e-5 of the largest entry.
            if (s > 0) expect(analytic[b][s][j]).toBe(0);
            else expectRel(analytic[b][s][j], numeric, `d/dh[${b}][0][${j}]`, 1e-5 * maxAbs);
          }
        }
      }
    });
  }

  it('d patience / d projection weight', () => {
    const narrow = hidden(new Rng(5), 2, lengths, 3, 3);
    const loss = pkdLoss({ projection: true }, envOf(4, 2, 5, 3, { seed: 11 }));
    const { ctx, dispose } = context(th, narrow, lengths);
    const { grads } = tf.variableGrads(() => loss.compute(ctx).terms.patience, loss.variables);
    const analytic = grads[loss.variables[0].name].arraySync() as number[][];
    const proj = projectionOf(loss.variables);
    tf.dispose(grads);
    dispose();
    loss.dispose();
    const h = 1e-6;
    const maxAbs = Math.max(...analytic.flat().map(Math.abs));
    expect(maxAbs).toBeGreaterThan(1e-3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 5; j++) {
        const at = (d: number) => {
          const w = proj.w.map((r) => [...r]);
          w[i][j] += d;
          return refPatience(th, narrow, zip([1], [2]), true, { w, b: proj.b });
        };
        expectRel(analytic[i][j], (at(h) - at(-h)) / (2 * h), `d/dW[${i}][${j}]`, 1e-5 * maxAbs);
      }
    }
  });

  it('stays finite for an all-zero [CLS] vector (normalize uses max(‖x‖, 1e-12))', () => {
    const zero = sh.map((l) => l.map((row) => row.map((v) => v.map(() => 0))));
    const loss = pkdLoss({}, envOf(4, 2, 5, 5));
    const { ctx, dispose } = context(th, zero, lengths);
    const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { hidden: [x, x, x] } }).terms.patience)(ctx.student.hidden![1]);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose(g);
    dispose();
  });
});

// ---- memory ----

describe('pkd memory', () => {
  const lengths = [2, 1];
  const rng = new Rng(4);
  const th = hidden(rng, 4, lengths, 2, 4), sh = hidden(rng, 2, lengths, 2, 4), narrow = hidden(rng, 2, lengths, 2, 3);

  for (const [label, options, student, hs] of [['plain', {}, sh, 4], ['projection', { projection: true }, narrow, 3]] as const) {
    it(`leaves no tensors behind (${label})`, () => {
      const loss = pkdLoss(options, envOf(4, 2, 4, hs));
      const { ctx, dispose } = context(th, student, lengths);
      expectComputeLeavesNoTensors(loss, ctx);
      dispose();
      loss.dispose();
    });
  }

  it('leaves no tensors behind when compute throws on a later layer', () => {
    const loss = pkdLoss({}, envOf(4, 3, 4, 4, { mapping: explicit({ hidden: zip([1, 2], [2, 4]) }) }));
    const { ctx, dispose } = context(th, sh, lengths);
    const bad = { ...ctx, student: { hidden: [sh[0], sh[1], hidden(rng, 0, [2, 1], 2, 3)[0]].map((h) => tf.tensor3d(h)) } };
    expect(thrownWithoutLeaks(() => loss.compute(bad))).toBeInstanceOf(DistilleryError);
    tf.dispose(bad.student.hidden);
    dispose();
  });
});

// ---- errors ----

describe('pkd errors', () => {
  const lengths = [3, 2];
  const rng = new Rng(8);
  const th = hidden(rng, 4, lengths, 3, 6), sh = hidden(rng, 2, lengths, 3, 6);
  const computeError = (env: PkdEnv, t: Hidden, s: Hidden, options: PkdOptions = {}) => {
    const { ctx, dispose } = context(t, s, lengths);
    try {
      return thrown(() => pkdLoss(options, env).compute(ctx));
    } finally {
      dispose();
    }
  };

  it('unequal hidden sizes without projection name both sizes and suggest projection: true', () => {
    const e = thrown(() => pkdLoss({}, envOf(4, 2, 32, 16)));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toMatch(/^pkd: feature 'hidden'/);
    expect(e.message).toContain('teacher 32, student 16');
    expect(e.message).toContain(`'projection: true'`);
  });

  it('tensors that disagree with the declared sizes name the layer pair and both shapes', () => {
    const wide = hidden(rng, 2, lengths, 3, 7);
    const e = computeError(envOf(4, 2, 6, 6), th, wide);
    expect(e.message).toContain(`pkd: feature 'hidden' student hidden[1] ↔ teacher hidden[2]`);
    expect(e.message).toContain('[2, 3, 6]');
    expect(e.message).toContain('[2, 3, 7]');
    expect(e.message).toContain('projection: true');
  });

  it('a projection that does not fit the tensors says what it maps', () => {
    const e = computeError(envOf(4, 2, 6, 5), th, sh, { projection: true });
    expect(e.message).toMatch(/student hidden\[1\] ↔ teacher hidden\[2\].*\[2, 3, 6\].*the projection maps 5 → 6/);
  });

  it('a batch size mismatch names the pair and both shapes', () => {
    const { ctx, dispose } = context(th, sh, lengths);
    const one = { ...ctx, student: { hidden: ctx.student.hidden!.map((h) => tf.slice(h, 0, 1)) } };
    const e = thrown(() => pkdLoss({}, envOf(4, 2, 6, 6)).compute(one));
    expect(e.message).toMatch(/hidden\[1\].*\[2, 3, 6\].*\[1, 3, 6\].*batch/);
    tf.dispose(one.student.hidden);
    dispose();
  });

  it('a missing layer names the model, the layer index and how many it has', () => {
    const e = computeError(envOf(4, 2, 6, 6), th.slice(0, 2), sh);
    expect(e.message).toBe(`pkd: feature 'hidden' layer 2: the teacher has 2 entries for this feature`);
  });

  it('a missing feature names it and the model', () => {
    const { ctx, dispose } = context(th, sh, lengths);
    expect(() => pkdLoss({}, envOf(4, 2, 6, 6)).compute({ ...ctx, student: {} })).toThrow(/pkd: feature 'hidden'.*student/);
    dispose();
  });

  it('a non-rank-3 hidden state names the layer and shape', () => {
    const { ctx, dispose } = context(th, sh, lengths);
    const flat = { ...ctx, student: { hidden: ctx.student.hidden!.map((h) => tf.reshape(h, [2, 18])) } };
    expect(() => pkdLoss({}, envOf(4, 2, 6, 6)).compute(flat)).toThrow(/pkd: feature 'hidden' layer 1: student.*\[2, 18\].*rank 3/);
    tf.dispose(flat.student.hidden);
    dispose();
  });

  it('skip with N not a multiple of M names both counts; last accepts it', () => {
    const e = thrown(() => pkdLoss({ mapping: 'skip' }, envOf(5, 2, 6, 6)));
    expect(e.message).toMatch(/^pkd: feature 'hidden'/);
    expect(e.message).toContain('teacher layers (5) must be a multiple of student layers (2)');
    expect((e as DistilleryError).code).toBe('mapping');
    expect(() => pkdLoss({ mapping: 'last' }, envOf(5, 2, 6, 6))).not.toThrow();
  });

  it('a stage mapping that pairs the embeddings or the last student layer is refused, naming the pair', () => {
    // uniform pairs hidden 0 ↔ 0 (the embeddings), 1 ↔ 2 and 2 ↔ 4 (the student's last layer).
    const e = thrown(() => pkdLoss({}, envOf(4, 2, 6, 6, { mapping: uniform() })));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('mapping');
    expect(e.message).toMatch(/^pkd: feature 'hidden': mapping 'uniform' pairs student hidden\[0\] ↔ teacher hidden\[0\], but PKD teaches student encoder layers 1\.\.1 /);
    expect(e.message).toContain(`use mapping 'skip' or 'last'`);
    const lastLayer = thrown(() => pkdLoss({}, envOf(4, 2, 6, 6, { mapping: explicit({ hidden: zip([1, 2], [2, 4]) }) })));
    expect(lastLayer.message).toMatch(/^pkd: feature 'hidden': mapping 'explicit' pairs student hidden\[2\] ↔ teacher hidden\[4\], but .*1\.\.1 /);
    // The loss's own option overrides the stage's mapping, and so avoids the error.
    expect(() => pkdLoss({ mapping: 'skip' }, envOf(4, 2, 6, 6, { mapping: uniform() }))).not.toThrow();
    expect(() => pkdLoss({}, envOf(4, 2, 6, 6, { mapping: explicit({ hidden: zip([1], [3]) }) }))).not.toThrow();
  });

  it('a one-layer student has no pairs and is refused', () => {
    expect(() => pkdLoss({}, envOf(4, 1, 6, 6))).toThrow(/pkd: .*no layer pairs.*teacher of 4 and a student of 1 layers.*at least 2/);
  });

  it('validates options by name', () => {
    expect(() => pkdLoss({ mapping: 'uniform' } as unknown as PkdOptions, envOf(4, 2, 6, 6)))
      .toThrow(`pkd options.mapping: expected one of "skip", "last", got "uniform"`);
    expect(() => pkdLoss({ normalize: 'yes' } as unknown as PkdOptions, envOf(4, 2, 6, 6)))
      .toThrow(`pkd options.normalize: expected true or false, got "yes"`);
    expect(() => pkdLoss({ projection: 1 } as unknown as PkdOptions, envOf(4, 2, 6, 6)))
      .toThrow(`pkd options.projection: expected true or false, got 1`);
  });

  it('needs the models\' shapes', () => {
    expect(() => pkdLoss({}, undefined as unknown as PkdEnv)).toThrow(/pkd: .*teacherInfo/);
  });
});

// ---- plugin and presets ----

describe('pkd plugin', () => {
  const env: PluginEnv = {
    teacherInfo: info(4, 8), studentInfo: info(2, 8), seed: 1, logger: silentLogger,
    resolveMapping: () => { throw new Error('unused'); },
  };

  it('registers with a Distillery and is found by name', () => {
    const found = createDistillery({ logger: silentLogger }).use(pkd).plugins.get('loss', 'pkd');
    expect(found).toBe(pkd);
    const loss = found.create({ mapping: 'last' }, env);
    expect(loss.name).toBe('pkd');
    expect([...loss.teacherFeatures]).toEqual(['hidden']);
    expect([...loss.studentFeatures]).toEqual(['hidden']);
    expect(loss.variables).toEqual([]);
  });

  it('declares exactly its option keys and rejects unknown ones', () => {
    expect(Object.keys(pkd.options.shape).sort()).toEqual(['mapping', 'normalize', 'projection']);
    expect(pkdOptions.parse({})).toEqual({ normalize: true, projection: false });
    expect(() => checkOptionKeys(pkd, { mapping: 'skip', normalize: false, projection: true }, 'here')).not.toThrow();
    expect(() => checkOptionKeys(pkd, { normalise: true }, 'here')).toThrow(/normalise.*pkd/);
  });

  it('logs the pairs it uses', () => {
    const lines: string[] = [];
    pkd.create({}, { ...env, logger: { info: (m) => lines.push(m), warn: () => {} } });
    expect(lines).toEqual([`pkd: mapping 'skip', student hidden[1] ↔ teacher hidden[2]`]);
  });
});

describe('pkdPaperLosses', () => {
  it('is the reference kd.cls total: hinton (α 0.7, T 10, elementwise mean) + 500 · pkd', () => {
    expect(pkdPaperLosses()).toEqual([
      { use: 'hinton', options: { temperature: 10, hardWeight: 0.3, reduction: 'mean' } },
      { use: 'pkd', weight: 500, options: {} },
    ]);
  });

  it('takes the paper\'s grid knobs and pkd options', () => {
    expect(pkdPaperLosses({ alpha: 0.5, temperature: 5, beta: 100, mapping: 'last' })).toEqual([
      { use: 'hinton', options: { temperature: 5, hardWeight: 0.5, reduction: 'mean' } },
      { use: 'pkd', weight: 100, options: { mapping: 'last' } },
    ]);
    expect(() => pkdPaperLosses({ alpha: 1.5 })).toThrow(`pkdPaperLosses options.alpha: expected a number <= 1, got 1.5`);
    expect(() => pkdPaperLosses({ mapping: 'uniform' } as never)).toThrow(`pkdPaperLosses options.mapping: expected one of "skip", "last", got "uniform"`);
    expect(() => pkdPaperLosses({ beta: -1 })).toThrow(/beta/);
    expect(() => pkdPaperLosses({ temperature: 0 })).toThrow(/temperature/);
  });
});
