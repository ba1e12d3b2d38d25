import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkOptionKeys, createDistillery, DistilleryError, explicit, selectBackend, silentLogger, uniform, type LossContext,
  type ModelInfo, type ModelOutputs, type PluginEnv,
} from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { expectClose, expectComputeLeavesNoTensors, expectRel, thrown, thrownWithoutLeaks } from '@distillery/core/testing';
import { minilm, minilmLoss, type MiniLmEnv, type MiniLmOptions } from './index.js';

// ---- float64 reference, written out with loops over plain numbers (no tfjs, no plugin code) ----

type T4 = number[][][][]; // [B][heads][S][x]
type Mask = number[][];   // [B][S]

/**
 * Σ over batch, heads and every query row (padded ones too) of KL(softmax(t) ‖ softmax(s)) over the row's
 * real keys only: a padded key has probability 0 on both sides and adds nothing.
 */
function refKlSum(t: T4, s: T4, mask: Mask): number {
  let acc = 0;
  for (let b = 0; b < t.length; b++) {
    for (let h = 0; h < t[b].length; h++) {
      for (let i = 0; i < t[b][h].length; i++) {
        const keys = mask[b].map((m, j) => (m ? j : -1)).filter((j) => j >= 0);
        if (keys.length === 0) continue;
        const lse = (row: number[]) => {
          let max = -Infinity;
          for (const j of keys) max = Math.max(max, row[j]);
          let sum = 0;
          for (const j of keys) sum += Math.exp(row[j] - max);
          return max + Math.log(sum);
        };
        const lt = lse(t[b][h][i]), ls = lse(s[b][h][i]);
        for (const j of keys) {
          const logPt = t[b][h][i][j] - lt, logPs = s[b][h][i][j] - ls;
          const pt = Math.exp(logPt);
          if (pt > 0) acc += pt * (logPt - logPs);
        }
      }
    }
  }
  return acc;
}

/** x·xᵀ/√d for each batch entry and head: [B][R][S][d] → [B][R][S][S]. */
function refRelation(x: T4): T4 {
  return x.map((heads) => heads.map((rows) => {
    const d = rows[0].length;
    return rows.map((ri) => rows.map((rj) => {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += ri[k] * rj[k];
      return dot / Math.sqrt(d);
    }));
  }));
}

/** Concatenates each token's heads (head 0 first) and cuts the features into R equal heads. */
function refSplit(x: T4, r: number): T4 {
  return x.map((heads) => {
    const a = heads.length, s = heads[0].length, d = heads[0][0].length, width = (a * d) / r;
    const out: T4[number] = [];
    for (let rh = 0; rh < r; rh++) {
      out.push([]);
      for (let i = 0; i < s; i++) {
        const row: number[] = [];
        for (let f = rh * width; f < (rh + 1) * width; f++) row.push(heads[Math.floor(f / d)][i][f % d]);
        out[rh].push(row);
      }
    }
    return out;
  });
}

const dims = (x: T4) => ({ b: x.length, heads: x[0].length, s: x[0][0].length });

function refV1(st: T4, ss: T4, vt: T4, vs: T4, mask: Mask) {
  const { b, heads, s } = dims(ss);
  const attention = refKlSum(st, ss, mask) / (heads * s * b);
  const valueRelation = refKlSum(refRelation(vt), refRelation(vs), mask) / (heads * s * b);
  return { attention, valueRelation, total: attention + valueRelation };
}

function refV2Term(xt: T4, xs: T4, mask: Mask, r: number): number {
  const { b, s } = dims(xs);
  return refKlSum(refRelation(refSplit(xt, r)), refRelation(refSplit(xs, r)), mask) / (r * s * b);
}

// ---- helpers ----

const rand4 = (rng: Rng, b: number, a: number, s: number, x: number, scale = 1): T4 =>
  Array.from({ length: b }, () => Array.from({ length: a }, () =>
    Array.from({ length: s }, () => Array.from({ length: x }, () => rng.normal() * scale))));

/** Attention scores as a BERT layer emits them: random, plus −10000 on padded keys. */
const scores = (rng: Rng, b: number, a: number, mask: Mask, scale = 2): T4 =>
  rand4(rng, b, a, mask[0].length, mask[0].length, scale)
    .map((heads, bi) => heads.map((rows) => rows.map((row) => row.map((v, j) => v + (mask[bi][j] ? 0 : -10000)))));

/** A mask of the given lengths over S positions. */
const maskOf = (lengths: number[], s: number): Mask => lengths.map((n) => Array.from({ length: s }, (_, j) => (j < n ? 1 : 0)));

type Side = Partial<Record<'attentionScores' | 'queries' | 'keys' | 'values', T4[]>>;
const info = (layers: number, heads: number, hidden: number): ModelInfo => ({ numLayers: layers, numHeads: heads, hiddenSize: hidden });

/** A context over fresh tensors built from per-layer lists; `dispose` frees them. */
function context(teacher: Side, student: Side, mask: Mask, teacherInfo: ModelInfo, studentInfo: ModelInfo) {
  const toOutputs = (side: Side): ModelOutputs =>
    Object.fromEntries(Object.entries(side).map(([k, layers]) => [k, layers.map((l) => tf.tensor4d(l))]));
  const b = mask.length, s = mask[0].length;
  const ctx: LossContext = {
    teacher: toOutputs(teacher), student: toOutputs(student),
    batch: { inputIds: tf.zeros([b, s], 'int32') as tf.Tensor2D, attentionMask: tf.tensor2d(mask, [b, s], 'int32') },
    teacherInfo, studentInfo, step: 1,
  };
  const dispose = () => tf.dispose([
    ...Object.values(ctx.teacher).flat(), ...Object.values(ctx.student).flat(), ctx.batch.inputIds, ctx.batch.attentionMask,
  ] as tf.Tensor[]);
  return { ctx, dispose };
}

/** Runs compute and reads every returned scalar, disposing the tensors. */
function run(options: MiniLmOptions, ctx: LossContext, env?: MiniLmEnv) {
  const { total, terms } = minilmLoss(options, env).compute(ctx);
  const read: Record<string, number> = { total: total.dataSync()[0] };
  for (const [k, v] of Object.entries(terms)) read[k] = v.dataSync()[0];
  tf.dispose([total, ...Object.values(terms)]);
  return read;
}

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
});

// ---- MiniLM v1 values ----

describe('minilm v1 values against a float64 reference', () => {
  // B 3, A 2, S 5; teacher d_head 4 (H 8), student d_head 3 (H 6); teacher 3 layers, student 2.
  const rng = new Rng(2024);
  const mask = maskOf([5, 3, 2], 5);
  const A = 2;
  const tScores = [0, 1, 2].map(() => scores(rng, 3, A, mask));
  const sScores = [0, 1].map(() => scores(rng, 3, A, mask));
  const tValues = [0, 1, 2].map(() => rand4(rng, 3, A, 5, 4));
  const sValues = [0, 1].map(() => rand4(rng, 3, A, 5, 3));
  const tInfo = info(3, A, 8), sInfo = info(2, A, 6);
  const build = () => context({ attentionScores: tScores, values: tValues }, { attentionScores: sScores, values: sValues }, mask, tInfo, sInfo);

  it('attention and valueRelation of the last layers, each / (A·S·B), total = their sum', () => {
    const { ctx, dispose } = build();
    const got = run({}, ctx);
    dispose();
    const want = refV1(tScores[2], sScores[1], tValues[2], sValues[1], mask);
    expect(Object.keys(got).sort()).toEqual(['attention', 'total', 'valueRelation']);
    expectRel(got.attention, want.attention, 'attention');
    expectRel(got.valueRelation, want.valueRelation, 'valueRelation');
    expectRel(got.total, want.total, 'total');
    expect(want.attention).toBeGreaterThan(0.05);
    expect(want.valueRelation).toBeGreaterThan(0.05);
  });

  it('version: 1 is the default', () => {
    const { ctx, dispose } = build();
    expect(run({ version: 1 }, ctx)).toEqual(run({}, ctx));
    dispose();
  });

  it('scores without the model\'s own −10000 give the same loss: the loss masks padded keys itself', () => {
    const unmasked = (x: T4[]) => x.map((l) => l.map((heads, b) => heads.map((rows) => rows.map((row) => row.map((v, j) => (mask[b][j] ? v : v + 10000))))));
    const a = build();
    const b = context({ attentionScores: unmasked(tScores), values: tValues }, { attentionScores: unmasked(sScores), values: sValues }, mask, tInfo, sInfo);
    const masked = run({}, a.ctx), plain = run({}, b.ctx);
    a.dispose(); b.dispose();
    expectRel(plain.attention, masked.attention, 'attention');
    expectRel(plain.total, masked.total, 'total');
  });

  it('padded keys carry no weight: changing scores at padded keys changes nothing', () => {
    const r = new Rng(3);
    const noisy = (x: T4[]) => x.map((l) => l.map((heads, b) => heads.map((rows) => rows.map((row) => row.map((v, j) => (mask[b][j] ? v : r.normal() * 50))))));
    const a = build();
    const b = context({ attentionScores: noisy(tScores), values: tValues }, { attentionScores: noisy(sScores), values: sValues }, mask, tInfo, sInfo);
    const x = run({}, a.ctx), y = run({}, b.ctx);
    a.dispose(); b.dispose();
    expectRel(y.attention, x.attention);
  });

  it('padded query rows stay in the sum and the divisor is the padded S (PaddleNLP)', () => {
    const { ctx, dispose } = build();
    const got = run({}, ctx);
    dispose();
    // The same sum restricted to real query rows is smaller: the plugin must not drop padded rows.
    const realRows = (x: T4): T4 => x.map((heads, b) => heads.map((rows) => rows.map((row, i) => (mask[b][i] ? row : row.map(() => 0)))));
    const dropped = refKlSum(realRows(tScores[2]), realRows(sScores[1]), mask) / (A * 5 * 3);
    expect(Math.abs(got.attention - dropped)).toBeGreaterThan(1e-3);
  });

  it('a stage mapping picks the pair instead of the last layers', () => {
    const { ctx, dispose } = build();
    const env: MiniLmEnv = { teacherInfo: tInfo, studentInfo: sInfo, mapping: explicit([{ student: 0, teacher: 1 }]) };
    const got = run({}, ctx, env);
    dispose();
    const want = refV1(tScores[1], sScores[0], tValues[1], sValues[0], mask);
    expectRel(got.total, want.total, 'total');
  });

  it('identical teacher and student give zero', () => {
    const { ctx, dispose } = context({ attentionScores: sScores, values: sValues }, { attentionScores: sScores, values: sValues }, mask, sInfo, sInfo);
    const got = run({}, ctx);
    dispose();
    expectClose(got.total, 0);
  });

  it('0·log 0 = 0: extreme scores with zero teacher probabilities and an all-padding sequence stay finite', () => {
    const r = new Rng(17);
    const m = maskOf([4, 0], 4);
    const extreme = (x: T4[]) => x.map((l) => l.map((heads) => heads.map((rows) => rows.map((row) => row.map((v) => v * 60)))));
    const st = extreme([scores(r, 2, 1, m)]), ss = [scores(r, 2, 1, m)];
    const vt = [rand4(r, 2, 1, 4, 2, 30)], vs = [rand4(r, 2, 1, 4, 2)];
    const { ctx, dispose } = context({ attentionScores: st, values: vt }, { attentionScores: ss, values: vs }, m, info(1, 1, 2), info(1, 1, 2));
    const got = run({}, ctx);
    dispose();
    const want = refV1(st[0], ss[0], vt[0], vs[0], m);
    expect(Number.isFinite(got.total)).toBe(true);
    expectRel(got.attention, want.attention, 'attention');
    expectRel(got.valueRelation, want.valueRelation, 'valueRelation');
  });
});

// ---- MiniLM v2 values ----

describe('minilm v2 values against a float64 reference', () => {
  // Teacher: 3 layers, 4 heads × d 6 (H 24). Student: 2 layers, 3 heads × d 4 (H 12). B 2, S 6.
  const rng = new Rng(99);
  const mask = maskOf([6, 4], 6);
  const teacher = { queries: [0, 1, 2].map(() => rand4(rng, 2, 4, 6, 6)), keys: [0, 1, 2].map(() => rand4(rng, 2, 4, 6, 6)), values: [0, 1, 2].map(() => rand4(rng, 2, 4, 6, 6)) };
  const student = { queries: [0, 1].map(() => rand4(rng, 2, 3, 6, 4)), keys: [0, 1].map(() => rand4(rng, 2, 3, 6, 4)), values: [0, 1].map(() => rand4(rng, 2, 3, 6, 4)) };
  const tInfo = info(3, 4, 24), sInfo = info(2, 3, 12);
  const build = () => context(teacher, student, mask, tInfo, sInfo);

  for (const [relationHeads, label] of [[undefined, 'default R = teacher heads = 4'], [6, 'R = 6'], [2, 'R = 2'], [12, 'R = 12']] as const) {
    it(`query, key, value relations with different head counts and hidden sizes (${label})`, () => {
      const { ctx, dispose } = build();
      const got = run({ version: 2, relationHeads }, ctx);
      dispose();
      const r = relationHeads ?? 4;
      const want = {
        query: refV2Term(teacher.queries[2], student.queries[1], mask, r),
        key: refV2Term(teacher.keys[2], student.keys[1], mask, r),
        value: refV2Term(teacher.values[2], student.values[1], mask, r),
      };
      expect(Object.keys(got).sort()).toEqual(['key', 'query', 'total', 'value']);
      for (const k of ['query', 'key', 'value'] as const) expectRel(got[k], want[k], k);
      expectRel(got.total, want.query + want.key + want.value, 'total');
      expect(want.query).toBeGreaterThan(0.01);
    });
  }

  it('teacherLayer picks the teacher layer (1-based)', () => {
    const { ctx, dispose } = build();
    const got = run({ version: 2, teacherLayer: 2, relationHeads: 2 }, ctx);
    dispose();
    expectRel(got.key, refV2Term(teacher.keys[1], student.keys[1], mask, 2), 'key');
    expectRel(got.total, refV2Term(teacher.queries[1], student.queries[1], mask, 2) +
      refV2Term(teacher.keys[1], student.keys[1], mask, 2) + refV2Term(teacher.values[1], student.values[1], mask, 2), 'total');
  });

  it('R equal to both head counts is the per-head relation', () => {
    const r = new Rng(5);
    const x = { queries: [rand4(r, 2, 2, 6, 3)], keys: [rand4(r, 2, 2, 6, 3)], values: [rand4(r, 2, 2, 6, 3)] };
    const y = { queries: [rand4(r, 2, 2, 6, 5)], keys: [rand4(r, 2, 2, 6, 5)], values: [rand4(r, 2, 2, 6, 5)] };
    const { ctx, dispose } = context(x, y, mask, info(1, 2, 6), info(1, 2, 10));
    const got = run({ version: 2 }, ctx);
    dispose();
    const m = maskOf([6, 4], 6);
    expectRel(got.value, refKlSum(refRelation(x.values[0]), refRelation(y.values[0]), m) / (2 * 6 * 2));
  });
});

// ---- gradients ----

describe('minilm gradients match central differences of the reference', () => {
  const h = 1e-5;
  const numeric = (f: (x: T4) => number, x: T4, at: [number, number, number, number]) => {
    const plus = structuredClone(x), minus = structuredClone(x);
    const [a, b, c, d] = at;
    plus[a][b][c][d] += h; minus[a][b][c][d] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  };
  const checkAll = (analytic: T4, f: (x: T4) => number, x: T4) => {
    let biggest = 0;
    x.forEach((l1, a) => l1.forEach((l2, b) => l2.forEach((l3, c) => l3.forEach((_, d) => {
      expectClose(analytic[a][b][c][d], numeric(f, x, [a, b, c, d]), `d/dx[${a}][${b}][${c}][${d}]`);
      biggest = Math.max(biggest, Math.abs(analytic[a][b][c][d]));
    }))));
    expect(biggest).toBeGreaterThan(1e-3);
  };
  const rng = new Rng(31);
  const mask = maskOf([4, 3], 4);

  it('v1: d attention / d student scores and d valueRelation / d student values', () => {
    const st = scores(rng, 2, 2, mask), ss = scores(rng, 2, 2, mask);
    const vt = rand4(rng, 2, 2, 4, 3), vs = rand4(rng, 2, 2, 4, 2);
    const { ctx, dispose } = context({ attentionScores: [st], values: [vt] }, { attentionScores: [ss], values: [vs] }, mask, info(1, 2, 6), info(1, 2, 4));
    const loss = minilmLoss();
    const gScores = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, attentionScores: [x] } }).terms.attention);
    const gValues = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, values: [x] } }).terms.valueRelation);
    const a1 = gScores(ctx.student.attentionScores![0]), a2 = gValues(ctx.student.values![0]);
    const [ds, dv] = [a1.arraySync() as T4, a2.arraySync() as T4];
    tf.dispose([a1, a2]);
    dispose();
    checkAll(ds, (x) => refV1(st, x, vt, vs, mask).attention, ss);
    checkAll(dv, (x) => refV1(st, ss, vt, x, mask).valueRelation, vs);
  });

  it('v2: d key / d student keys with different head counts (teacher 4 × 3, student 2 × 3, R 3)', () => {
    const kt = rand4(rng, 2, 4, 4, 3), ks = rand4(rng, 2, 2, 4, 3);
    const { ctx, dispose } = context({ queries: [kt], keys: [kt], values: [kt] }, { queries: [ks], keys: [ks], values: [ks] }, mask, info(1, 4, 12), info(1, 2, 6));
    const loss = minilmLoss({ version: 2, relationHeads: 3 });
    const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, keys: [x] } }).terms.key);
    const out = g(ctx.student.keys![0]);
    const dk = out.arraySync() as T4;
    tf.dispose(out);
    dispose();
    checkAll(dk, (x) => refV2Term(kt, x, mask, 3), ks);
  });
});

// ---- memory ----

describe('minilm memory', () => {
  const rng = new Rng(8);
  const mask = maskOf([3, 2], 3);
  const v1 = () => context({ attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] },
    { attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] }, mask, info(1, 2, 4), info(1, 2, 4));
  const v2 = () => {
    const t = rand4(rng, 2, 2, 3, 2), s = rand4(rng, 2, 1, 3, 2);
    return context({ queries: [t], keys: [t], values: [t] }, { queries: [s], keys: [s], values: [s] }, mask, info(1, 2, 4), info(1, 1, 2));
  };

  for (const [version, build] of [[1, v1], [2, v2]] as const) {
    it(`leaves no tensors behind (version ${version})`, () => {
      const { ctx, dispose } = build();
      const loss = minilmLoss({ version });
      expectComputeLeavesNoTensors(loss, ctx);
      dispose();
    });
  }

  it('leaves no tensors behind when compute throws', () => {
    const { ctx, dispose } = v1();
    const e = thrownWithoutLeaks(() => minilmLoss().compute({ ...ctx, teacher: { attentionScores: ctx.teacher.attentionScores } }));
    expect(e).toBeInstanceOf(DistilleryError);
    dispose();
  });
});

// ---- errors ----

describe('minilm errors', () => {
  const rng = new Rng(4);
  const mask = maskOf([3, 3], 3);

  it('v1 with different head counts names both counts, the feature, the layer indices and the shapes', () => {
    const { ctx, dispose } = context({ attentionScores: [scores(rng, 2, 4, mask)], values: [rand4(rng, 2, 4, 3, 2)] },
      { attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] }, mask, info(1, 2, 8), info(1, 2, 4));
    // Infos claiming equal heads: the tensors' own shapes are checked at compute.
    const e = thrown(() => minilmLoss().compute(ctx));
    dispose();
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toMatch(/^minilm: feature 'attentionScores' \(teacher layer index 0, student layer index 0\)/);
    expect(e.message).toContain('teacher 4 heads');
    expect(e.message).toContain('student 2 heads');
    expect(e.message).toContain('[2, 4, 3, 3]');
    expect(e.message).toContain('[2, 2, 3, 3]');
    expect(e.message).toContain('version 2');
  });

  it('v1 with different head counts fails at create when the stage is known', () => {
    const env: MiniLmEnv = { teacherInfo: info(4, 12, 768), studentInfo: info(2, 6, 384) };
    expect(() => minilmLoss({}, env)).toThrow(/minilm: .*teacher has 12 heads and the student 6/);
  });

  it('v2 relation heads that do not divide a hidden size name both sizes', () => {
    const env: MiniLmEnv = { teacherInfo: info(4, 4, 32), studentInfo: info(2, 2, 18) };
    expect(() => minilmLoss({ version: 2, relationHeads: 8 }, env)).toThrow(/minilm: 8 relation heads must divide both hidden sizes, got teacher 32 and student 18/);
    expect(() => minilmLoss({ version: 2 }, env)).toThrow(/4 relation heads \(the default: the teacher's head count\).*teacher 32 and student 18.*relationHeads/);
    const t = rand4(rng, 2, 2, 3, 3), s = rand4(rng, 2, 2, 3, 2);
    const { ctx, dispose } = context({ queries: [t], keys: [t], values: [t] }, { queries: [s], keys: [s], values: [s] }, mask, info(1, 4, 8), info(1, 2, 4));
    const e = thrown(() => minilmLoss({ version: 2 }).compute(ctx)); // infos say 8 and 4; the tensors are 6 and 4
    dispose();
    expect(e.message).toMatch(/minilm: feature 'queries' \(teacher layer index 0, student layer index 0\): 4 relation heads .* teacher 6 \(shape \[2, 2, 3, 3\]\) and student 4/);
  });

  it('names a missing feature and the model', () => {
    const { ctx, dispose } = context({ attentionScores: [scores(rng, 2, 2, mask)] }, { attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] }, mask, info(1, 2, 4), info(1, 2, 4));
    expect(() => minilmLoss().compute(ctx)).toThrow(/minilm: feature 'values': missing from the teacher outputs/);
    dispose();
  });

  it('names the layer index when a model has fewer layers than its info says', () => {
    const { ctx, dispose } = context({ attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] },
      { attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] }, mask, info(3, 2, 4), info(1, 2, 4));
    expect(() => minilmLoss().compute(ctx)).toThrow(/minilm: feature 'attentionScores' layer 2: the teacher has 1 entry/);
    dispose();
  });

  it('rejects tensors that are not rank 4, and sizes that do not fit the attention mask, with the shapes', () => {
    const { ctx, dispose } = context({ attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] },
      { attentionScores: [scores(rng, 2, 2, mask)], values: [rand4(rng, 2, 2, 3, 2)] }, mask, info(1, 2, 4), info(1, 2, 4));
    const flat = tf.zeros([2, 3, 4]);
    expect(() => minilmLoss().compute({ ...ctx, student: { ...ctx.student, values: [flat] } }))
      .toThrow(/minilm: feature 'values' layer 0: student tensor has shape \[2, 3, 4\], expected rank 4/);
    const longer = tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 1]], [2, 4], 'int32');
    expect(() => minilmLoss().compute({ ...ctx, batch: { ...ctx.batch, attentionMask: longer } }))
      .toThrow(/minilm: feature 'attentionScores' \(teacher layer index 0, student layer index 0\): .*attentionMask \[2, 4\].*teacher shape \[2, 2, 3, 3\]/);
    tf.dispose([flat, longer]);
    dispose();
  });

  it.each([0, 3, '2', 1.5])('rejects version %s', (version) => {
    expect(() => minilmLoss({ version } as unknown as MiniLmOptions)).toThrow(/^minilm options\.version: expected one of 1, 2, got /);
  });

  it.each([0, -2, 1.5, Number.NaN])('rejects relationHeads %s', (relationHeads) => {
    expect(() => minilmLoss({ version: 2, relationHeads })).toThrow(/^minilm options\.relationHeads: expected an integer/);
  });

  it('rejects v2 options with version 1, naming them', () => {
    expect(() => minilmLoss({ relationHeads: 4 })).toThrow(/minilm: option 'relationHeads' applies to version 2 only/);
    expect(() => minilmLoss({ version: 1, teacherLayer: 2 })).toThrow(/minilm: option 'teacherLayer' applies to version 2 only/);
  });

  it('rejects a teacherLayer outside the teacher, or together with a stage mapping', () => {
    expect(() => minilmLoss({ version: 2, teacherLayer: 0 })).toThrow('minilm options.teacherLayer: expected an integer >= 1, got 0');
    const env: MiniLmEnv = { teacherInfo: info(4, 2, 8), studentInfo: info(2, 2, 8) };
    expect(() => minilmLoss({ version: 2, teacherLayer: 5 }, env)).toThrow(/minilm: option 'teacherLayer' must be <= 4 \(the teacher's layers\), got 5/);
    expect(() => minilmLoss({ version: 2, teacherLayer: 3 }, { ...env, mapping: uniform() })).toThrow(/teacherLayer' and the stage mapping 'uniform'/);
  });

  it('wraps a mapping\'s own error, naming the loss and the feature, with the original as cause', () => {
    // The default lastLayer mapping refuses a student deeper than the teacher.
    const deep = thrown(() => minilmLoss({}, { teacherInfo: info(2, 2, 8), studentInfo: info(4, 2, 8) }));
    expect(deep).toBeInstanceOf(DistilleryError);
    expect((deep as DistilleryError).code).toBe('mapping');
    expect(deep.message).toBe(`minilm: feature 'attentionScores': cannot pair the teacher's 2 layers with the student's 4: ` +
      `lastLayer mapping: the student has more layers (4) than the teacher (2)`);
    expect((deep.cause as Error).message).toBe('lastLayer mapping: the student has more layers (4) than the teacher (2)');
    // A stage mapping without pairs for a feature the loss reads.
    const env: MiniLmEnv = { teacherInfo: info(4, 2, 8), studentInfo: info(2, 2, 8), mapping: explicit({ hidden: [{ student: 2, teacher: 4 }] }) };
    const missing = thrown(() => minilmLoss({ version: 2 }, env));
    expect(missing.message).toMatch(/^minilm: feature 'queries': cannot pair .*explicit mapping: no pairs given for feature 'queries'$/);
    expect(missing.cause).toBeInstanceOf(DistilleryError);
  });

  it('rejects a stage mapping that gives more than one pair', () => {
    const env: MiniLmEnv = { teacherInfo: info(4, 2, 8), studentInfo: info(2, 2, 8), mapping: uniform() };
    expect(() => minilmLoss({}, env)).toThrow(/minilm: distils one layer pair, but mapping 'uniform' gives 2 for feature 'attentionScores'/);
  });
});

// ---- plugin ----

describe('minilm plugin', () => {
  const env = (teacherInfo: ModelInfo, studentInfo: ModelInfo): PluginEnv => ({
    teacherInfo, studentInfo, seed: 1, logger: silentLogger, resolveMapping: () => { throw new Error('unused'); },
  });

  it('registers with a Distillery and declares the features of each version', () => {
    const d = createDistillery({ logger: silentLogger }).use(minilm);
    const found = d.plugins.get('loss', 'minilm');
    expect(found).toBe(minilm);
    const v1 = found.create({}, env(info(4, 2, 8), info(2, 2, 4)));
    expect(v1.name).toBe('minilm');
    expect([...v1.teacherFeatures].sort()).toEqual(['attentionScores', 'values']);
    expect([...v1.studentFeatures].sort()).toEqual(['attentionScores', 'values']);
    expect(v1.variables).toEqual([]);
    const v2 = found.create({ version: 2 }, env(info(4, 4, 8), info(2, 2, 4)));
    expect([...v2.teacherFeatures].sort()).toEqual(['keys', 'queries', 'values']);
    expect([...v2.studentFeatures].sort()).toEqual(['keys', 'queries', 'values']);
  });

  it('declares exactly its option keys and rejects unknown ones', () => {
    expect(Object.keys(minilm.options.shape).sort()).toEqual(['relationHeads', 'teacherLayer', 'version']);
    expect(() => checkOptionKeys(minilm, { version: 2, relationHeads: 4, teacherLayer: 3 }, 'here')).not.toThrow();
    expect(() => checkOptionKeys(minilm, { relationHead: 4 }, 'here')).toThrow(/relationHead.*minilm/);
  });

  it('create() validates options against the stage models', () => {
    expect(() => minilm.create({ version: 2, teacherLayer: 9 }, env(info(4, 2, 8), info(2, 2, 4)))).toThrow(/teacherLayer.*<= 4.*9/);
  });
});
