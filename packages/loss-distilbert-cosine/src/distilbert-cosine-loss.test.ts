import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkOptionKeys, createDistillery, DistilleryError, selectBackend, silentLogger, type Batch, type LossContext,
  type ModelInfo, type ModelOutputs, type PluginEnv,
} from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { expectClose, expectComputeLeavesNoTensors, expectRel, thrown, thrownWithoutLeaks } from '@distillery/core/testing';
import { distilbertCosine, distilbertCosineLoss, type DistilbertCosineOptions } from './index.js';

// ---- float64 reference, written out with loops over plain numbers (no tfjs, no plugin code) ----

type T3 = number[][][]; // [B][S][x]
type Matrix = number[][]; // [B][S] or [B][C]

function refLogSoftmax(row: number[], T: number): number[] {
  let max = -Infinity;
  for (const z of row) max = Math.max(max, z / T);
  let sum = 0;
  for (const z of row) sum += Math.exp(z / T - max);
  const lse = max + Math.log(sum);
  return row.map((z) => z / T - lse);
}

function refKl(zt: number[], zs: number[], T: number): number {
  const lt = refLogSoftmax(zt, T), ls = refLogSoftmax(zs, T);
  let acc = 0;
  for (let v = 0; v < zt.length; v++) {
    const pt = Math.exp(lt[v]);
    if (pt > 0) acc += pt * (lt[v] - ls[v]);
  }
  return acc;
}

/** T² · Σ KL over the selected positions / their count (0 when none: where HF would divide 0 by 0). */
function refCe(zt: T3, zs: T3, selected: Matrix, T: number): number {
  let acc = 0, n = 0;
  for (let b = 0; b < zt.length; b++) {
    for (let i = 0; i < zt[b].length; i++) {
      if (!selected[b][i]) continue;
      acc += refKl(zt[b][i], zs[b][i], T);
      n++;
    }
  }
  return n ? (T * T * acc) / n : 0;
}

function refCeLogits(zt: Matrix, zs: Matrix, T: number): number {
  let acc = 0;
  for (let b = 0; b < zt.length; b++) acc += refKl(zt[b], zs[b], T);
  return (T * T * acc) / zt.length;
}

function refMlm(zs: T3, labels: Matrix): number {
  let acc = 0, n = 0;
  for (let b = 0; b < zs.length; b++) {
    for (let i = 0; i < zs[b].length; i++) {
      if (labels[b][i] === -100) continue;
      acc -= refLogSoftmax(zs[b][i], 1)[labels[b][i]];
      n++;
    }
  }
  return n ? acc / n : 0;
}

/** Mean over non-padding tokens of 1 − cos, torch's cosine_embedding_loss (1e-12 on each squared norm). */
function refCos(hs: T3, ht: T3, mask: Matrix): number {
  let acc = 0, n = 0;
  for (let b = 0; b < hs.length; b++) {
    for (let i = 0; i < hs[b].length; i++) {
      if (!mask[b][i]) continue;
      let dot = 0, ns = 1e-12, nt = 1e-12;
      for (let k = 0; k < hs[b][i].length; k++) {
        dot += hs[b][i][k] * ht[b][i][k];
        ns += hs[b][i][k] ** 2;
        nt += ht[b][i][k] ** 2;
      }
      acc += 1 - dot / Math.sqrt(ns * nt);
      n++;
    }
  }
  return n ? acc / n : 0;
}

// ---- helpers ----

const rand3 = (rng: Rng, b: number, s: number, x: number, scale = 1): T3 =>
  Array.from({ length: b }, () => Array.from({ length: s }, () => Array.from({ length: x }, () => rng.normal() * scale)));
const maskOf = (lengths: number[], s: number): Matrix => lengths.map((n) => Array.from({ length: s }, (_, j) => (j < n ? 1 : 0)));
/** Labels at roughly `rate` of the real tokens, −100 elsewhere (never at padding). */
const labelsOf = (rng: Rng, mask: Matrix, vocab: number, rate = 0.4): Matrix =>
  mask.map((row) => row.map((m) => (m && rng.next() < rate ? rng.int(vocab) : -100)));
const info = (layers: number, hidden: number): ModelInfo => ({ numLayers: layers, numHeads: 2, hiddenSize: hidden });

interface Side { mlmLogits?: T3; logits?: Matrix; hidden?: T3[] }

/** A context over fresh tensors; `dispose` frees them. */
function context(teacher: Side, student: Side, mask: Matrix, labels?: Matrix) {
  const outputs = (side: Side): ModelOutputs => ({
    ...(side.mlmLogits ? { mlmLogits: tf.tensor3d(side.mlmLogits) } : {}),
    ...(side.logits ? { logits: tf.tensor2d(side.logits) } : {}),
    ...(side.hidden ? { hidden: side.hidden.map((h) => tf.tensor3d(h)) } : {}),
  });
  const b = mask.length, s = mask[0].length;
  const batch: Batch = { inputIds: tf.zeros([b, s], 'int32') as tf.Tensor2D, attentionMask: tf.tensor2d(mask, [b, s], 'int32') };
  if (labels) batch.mlmLabels = tf.tensor2d(labels, [b, s], 'int32');
  const H = (side: Side) => side.hidden?.[0]?.[0]?.[0]?.length ?? 4;
  const ctx: LossContext = {
    teacher: outputs(teacher), student: outputs(student), batch, step: 1,
    teacherInfo: info((teacher.hidden?.length ?? 2) - 1, H(teacher)), studentInfo: info((student.hidden?.length ?? 2) - 1, H(student)),
  };
  const dispose = () => tf.dispose([
    ...Object.values(ctx.teacher).flat(), ...Object.values(ctx.student).flat(),
    batch.inputIds, batch.attentionMask, ...(batch.mlmLabels ? [batch.mlmLabels] : []),
  ] as tf.Tensor[]);
  return { ctx, dispose };
}

/** Runs compute and reads every returned scalar, disposing the tensors. */
function run(options: DistilbertCosineOptions, ctx: LossContext) {
  const { total, terms } = distilbertCosineLoss(options).compute(ctx);
  const read: Record<string, number> = { total: total.dataSync()[0] };
  for (const [k, v] of Object.entries(terms)) read[k] = v.dataSync()[0];
  tf.dispose([total, ...Object.values(terms)]);
  return read;
}

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
});

// ---- values, target 'mlm' ----

describe('distilbert-cosine values against a float64 reference (target mlm)', () => {
  // B 3, S 6, V 9, H 5; teacher 4 layers (5 hidden entries), student 2 (3 entries).
  const rng = new Rng(7);
  const mask = maskOf([6, 4, 2], 6);
  const labels = labelsOf(rng, mask, 9);
  const zt = rand3(rng, 3, 6, 9, 3), zs = rand3(rng, 3, 6, 9, 3);
  const th = [0, 1, 2, 3, 4].map(() => rand3(rng, 3, 6, 5)), sh = [0, 1, 2].map(() => rand3(rng, 3, 6, 5));
  const build = (l: Matrix | undefined = labels) => context({ mlmLogits: zt, hidden: th }, { mlmLogits: zs, hidden: sh }, mask, l);

  it('defaults: T 2, ce over non-padding tokens, mlm over labels, cos on the last layers; total = 5·ce + 2·mlm + 1·cos', () => {
    const { ctx, dispose } = build();
    const got = run({}, ctx);
    dispose();
    const ce = refCe(zt, zs, mask, 2), mlm = refMlm(zs, labels), cos = refCos(sh[2], th[4], mask);
    expect(Object.keys(got).sort()).toEqual(['ce', 'cos', 'mlm', 'total']);
    expectRel(got.ce, ce, 'ce');
    expectRel(got.mlm, mlm, 'mlm');
    expectRel(got.cos, cos, 'cos');
    expectRel(got.total, 5 * ce + 2 * mlm + cos, 'total');
    expect(labels.flat().filter((l) => l !== -100).length).toBeGreaterThan(2);
  });

  for (const T of [1, 4]) {
    it(`ce scales with T² (T = ${T}) and weights are applied as given`, () => {
      const { ctx, dispose } = build();
      const got = run({ temperature: T, alphaCe: 0.5, alphaMlm: 0.3, alphaCos: 2 }, ctx);
      dispose();
      const ce = refCe(zt, zs, mask, T);
      expectRel(got.ce, ce, 'ce');
      expectRel(got.total, 0.5 * ce + 0.3 * refMlm(zs, labels) + 2 * refCos(sh[2], th[4], mask), 'total');
    });
  }

  it('restrictToMasked: ce over the masked positions only', () => {
    const { ctx, dispose } = build();
    const got = run({ restrictToMasked: true }, ctx);
    dispose();
    const masked = labels.map((row) => row.map((l) => (l === -100 ? 0 : 1)));
    expectRel(got.ce, refCe(zt, zs, masked, 2), 'ce');
    expect(Math.abs(got.ce - refCe(zt, zs, mask, 2))).toBeGreaterThan(1e-3);
  });

  it('a batch with no masked token: mlm is 0 (not NaN), and so is a restricted ce', () => {
    const none = mask.map((row) => row.map(() => -100));
    const { ctx, dispose } = build(none);
    const plain = run({}, ctx), restricted = run({ restrictToMasked: true }, ctx);
    dispose();
    expect(Math.abs(plain.mlm)).toBe(0);
    expectRel(plain.total, 5 * refCe(zt, zs, mask, 2) + refCos(sh[2], th[4], mask), 'total');
    expect(Math.abs(restricted.ce)).toBe(0);
    expect(Number.isFinite(restricted.total)).toBe(true);
  });

  it('padding carries no weight: logits and hidden states at padded positions change nothing', () => {
    const r = new Rng(11);
    const noisy = (x: T3) => x.map((row, b) => row.map((v, i) => (mask[b][i] ? v : v.map(() => r.normal() * 40))));
    const a = build();
    const b = context({ mlmLogits: noisy(zt), hidden: th.map(noisy) }, { mlmLogits: noisy(zs), hidden: sh.map(noisy) }, mask, labels);
    const x = run({}, a.ctx), y = run({}, b.ctx);
    a.dispose(); b.dispose();
    for (const k of ['ce', 'mlm', 'cos', 'total']) expectRel(y[k], x[k], k);
  });

  it('identical teacher and student give zero ce and cos', () => {
    const { ctx, dispose } = context({ mlmLogits: zs, hidden: sh }, { mlmLogits: zs, hidden: sh }, mask, labels);
    const got = run({}, ctx);
    dispose();
    expectClose(got.ce, 0);
    expectClose(got.cos, 0);
  });

  it('a term whose α is 0 is not computed, not reported and its features not requested', () => {
    const noCos = distilbertCosineLoss({ alphaCos: 0 });
    expect([...noCos.teacherFeatures]).toEqual(['mlmLogits']);
    expect([...noCos.studentFeatures]).toEqual(['mlmLogits']);
    const { ctx, dispose } = context({ mlmLogits: zt }, { mlmLogits: zs }, mask, labels);
    const got = run({ alphaCos: 0 }, ctx);
    expect(Object.keys(got).sort()).toEqual(['ce', 'mlm', 'total']);
    // Without the mlm term, no mlmLabels are needed.
    const bare = { ...ctx, batch: { inputIds: ctx.batch.inputIds, attentionMask: ctx.batch.attentionMask } };
    const ceOnly = distilbertCosineLoss({ alphaCos: 0, alphaMlm: 0 }).compute(bare);
    expect(Object.keys(ceOnly.terms)).toEqual(['ce']);
    expectRel(ceOnly.total.dataSync()[0], 5 * refCe(zt, zs, mask, 2), 'total');
    tf.dispose([ceOnly.total, ...Object.values(ceOnly.terms)]);
    dispose();
    const noCe = distilbertCosineLoss({ alphaCe: 0 });
    expect([...noCe.teacherFeatures]).toEqual(['hidden']);
    expect([...noCe.studentFeatures].sort()).toEqual(['hidden', 'mlmMaskedLogits']);
  });

  /** The rows of [B][S][V] at the masked tokens, row-major: what a model gives as mlmMaskedLogits. */
  const maskedRows = (z: T3, l: Matrix): Matrix => z.flatMap((row, b) => row.filter((_, i) => l[b][i] !== -100));

  it('only the masked rows of the MLM head are requested when no term needs every token, with the same values', () => {
    expect([...distilbertCosineLoss({ restrictToMasked: true }).teacherFeatures].sort()).toEqual(['hidden', 'mlmMaskedLogits']);
    expect([...distilbertCosineLoss({ restrictToMasked: true }).studentFeatures].sort()).toEqual(['hidden', 'mlmMaskedLogits']);
    expect([...distilbertCosineLoss({}).studentFeatures].sort()).toEqual(['hidden', 'mlmLogits']);
    const rowsT = maskedRows(zt, labels), rowsS = maskedRows(zs, labels);
    expect(rowsS.length).toBeGreaterThan(0);
    const a = build();
    const full = run({ restrictToMasked: true }, a.ctx);
    a.dispose();
    const b = context({ hidden: th }, { hidden: sh }, mask, labels);
    b.ctx.teacher.mlmMaskedLogits = tf.tensor2d(rowsT);
    b.ctx.student.mlmMaskedLogits = tf.tensor2d(rowsS);
    const rows = run({ restrictToMasked: true }, b.ctx);
    b.dispose();
    const masked = labels.map((row) => row.map((l) => (l === -100 ? 0 : 1)));
    expectRel(rows.ce, refCe(zt, zs, masked, 2), 'ce');
    expectRel(rows.mlm, refMlm(zs, labels), 'mlm');
    for (const k of ['ce', 'mlm', 'cos', 'total']) expectRel(rows[k], full[k], k);
  });

  it('mlmMaskedLogits whose rows are not the batch\'s masked tokens are named with both counts', () => {
    const b = context({ hidden: th }, { hidden: sh }, mask, labels);
    const n = maskedRows(zs, labels).length;
    b.ctx.student.mlmMaskedLogits = tf.zeros([n + 1, zs[0][0].length]);
    expect(thrownWithoutLeaks(() => distilbertCosineLoss({ alphaCe: 0 }).compute(b.ctx)).message)
      .toMatch(new RegExp(`student feature 'mlmMaskedLogits' \\[${n + 1}, \\d+\\] has ${n + 1} rows where the batch has ${n} masked tokens`));
    b.dispose();
  });
});

// ---- values, target 'logits' ----

describe('distilbert-cosine values against a float64 reference (target logits)', () => {
  const rng = new Rng(21);
  const mask = maskOf([5, 3, 5, 1], 5);
  const zt = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rng.normal() * 3));
  const zs = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rng.normal() * 3));
  const th = [0, 1, 2].map(() => rand3(rng, 4, 5, 6)), sh = [0, 1].map(() => rand3(rng, 4, 5, 6));

  it('ce is T²·KL on classification logits, mean over rows; no mlm term; cos on the last hidden layers', () => {
    const { ctx, dispose } = context({ logits: zt, hidden: th }, { logits: zs, hidden: sh }, mask);
    const got = run({ target: 'logits', temperature: 3 }, ctx);
    dispose();
    const ce = refCeLogits(zt, zs, 3), cos = refCos(sh[1], th[2], mask);
    expect(Object.keys(got).sort()).toEqual(['ce', 'cos', 'total']);
    expectRel(got.ce, ce, 'ce');
    expectRel(got.cos, cos, 'cos');
    expectRel(got.total, 5 * ce + cos, 'total');
    const loss = distilbertCosineLoss({ target: 'logits' });
    expect([...loss.teacherFeatures].sort()).toEqual(['hidden', 'logits']);
    expect([...loss.studentFeatures].sort()).toEqual(['hidden', 'logits']);
  });
});

// ---- gradients ----

describe('distilbert-cosine gradients match central differences of the reference', () => {
  const h = 1e-5;
  const rng = new Rng(55);
  const mask = maskOf([4, 2], 4);
  const labels: Matrix = [[3, -100, 0, -100], [-100, 5, -100, -100]];
  const zt = rand3(rng, 2, 4, 6, 2), zs = rand3(rng, 2, 4, 6, 2);
  const ht = rand3(rng, 2, 4, 3), hs = rand3(rng, 2, 4, 3);

  const check = (analytic: T3, f: (x: T3) => number, x: T3) => {
    let biggest = 0;
    x.forEach((r1, a) => r1.forEach((r2, b) => r2.forEach((_, c) => {
      const plus = structuredClone(x), minus = structuredClone(x);
      plus[a][b][c] += h; minus[a][b][c] -= h;
      expectClose(analytic[a][b][c], (f(plus) - f(minus)) / (2 * h), `d/dx[${a}][${b}][${c}]`);
      biggest = Math.max(biggest, Math.abs(analytic[a][b][c]));
    })));
    expect(biggest).toBeGreaterThan(1e-3);
  };

  it('d total / d student mlmLogits (ce + mlm) and d cos / d student last hidden', () => {
    const { ctx, dispose } = context({ mlmLogits: zt, hidden: [ht, ht] }, { mlmLogits: zs, hidden: [hs, hs] }, mask, labels);
    const loss = distilbertCosineLoss({ temperature: 3, alphaCe: 0.7, alphaMlm: 1.3 });
    const gLogits = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, mlmLogits: x } }).total);
    const gHidden = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, hidden: [ctx.student.hidden![0], x] } }).terms.cos);
    const a = gLogits(ctx.student.mlmLogits!), b = gHidden(ctx.student.hidden![1]);
    const [dz, dh] = [a.arraySync() as T3, b.arraySync() as T3];
    tf.dispose([a, b]);
    dispose();
    check(dz, (x) => 0.7 * refCe(zt, x, mask, 3) + 1.3 * refMlm(x, labels), zs);
    check(dh, (x) => refCos(x, ht, mask), hs);
  });
});

// ---- memory ----

describe('distilbert-cosine memory', () => {
  const rng = new Rng(6);
  const mask = maskOf([3, 2], 3);
  const build = () => context({ mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4), rand3(rng, 2, 3, 4)] },
    { mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4), rand3(rng, 2, 3, 4)] }, mask, [[1, -100, 4], [-100, 2, -100]]);

  for (const options of [{}, { restrictToMasked: true }, { alphaCe: 0 }] as DistilbertCosineOptions[]) {
    it(`leaves no tensors behind (${JSON.stringify(options)})`, () => {
      const { ctx, dispose } = build();
      const loss = distilbertCosineLoss(options);
      expectComputeLeavesNoTensors(loss, ctx);
      dispose();
    });
  }

  it('leaves no tensors behind when compute throws', () => {
    const { ctx, dispose } = build();
    const e = thrownWithoutLeaks(() => distilbertCosineLoss().compute({ ...ctx, teacher: { mlmLogits: ctx.teacher.mlmLogits } }));
    expect(e).toBeInstanceOf(DistilleryError);
    dispose();
  });
});

// ---- errors ----

describe('distilbert-cosine errors', () => {
  const rng = new Rng(3);
  const mask = maskOf([3, 3], 3);
  const labels: Matrix = [[1, -100, 2], [-100, -100, 0]];

  it('different hidden sizes name the plugin, the feature, both layer indices, both sizes and shapes', () => {
    const { ctx, dispose } = context({ mlmLogits: rand3(rng, 2, 3, 5), hidden: [0, 1, 2].map(() => rand3(rng, 2, 3, 6)) },
      { mlmLogits: rand3(rng, 2, 3, 5), hidden: [0, 1].map(() => rand3(rng, 2, 3, 4)) }, mask, labels);
    const e = thrown(() => distilbertCosineLoss().compute(ctx));
    dispose();
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toBe(`distilbert-cosine: feature 'hidden' (last layer: teacher index 2, student index 1): the cos term ` +
      `needs equal hidden sizes, got teacher 6 and student 4 (teacher shape [2, 3, 6], student shape [2, 3, 4])`);
  });

  it('different hidden sizes fail at create when the stage is known, unless alphaCos is 0', () => {
    const env: PluginEnv = { teacherInfo: info(4, 32), studentInfo: info(2, 16), seed: 1, logger: silentLogger, resolveMapping: () => { throw new Error(); } };
    expect(() => distilbertCosine.create({}, env)).toThrow(/distilbert-cosine: the cos term needs equal hidden sizes, got teacher 32 and student 16/);
    expect(() => distilbertCosine.create({ alphaCos: 0 }, env)).not.toThrow();
  });

  it('a batch without mlmLabels says which term needs them', () => {
    const { ctx, dispose } = context({ mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, { mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, mask);
    expect(() => distilbertCosineLoss().compute(ctx)).toThrow(/distilbert-cosine: the batch has no mlmLabels .*the mlm term \(alphaMlm 2\).*alphaMlm: 0/);
    expect(() => distilbertCosineLoss({ alphaMlm: 0, restrictToMasked: true }).compute(ctx)).toThrow(/no mlmLabels.*restrictToMasked/);
    dispose();
  });

  it('mlmLabels that are neither −100 nor a token id, or of the wrong shape, are named', () => {
    const { ctx, dispose } = context({ mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, { mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, mask, [[1, -100, 5], [-1, -100, 0]]);
    expect(() => distilbertCosineLoss().compute(ctx)).toThrow(/distilbert-cosine: mlmLabels\[0\]\[2\] = 5 is neither −100 nor a token id of the 5-token vocabulary/);
    const wide = tf.tensor2d([[1, 2, 3, 4], [1, 2, 3, 4]], [2, 4], 'int32');
    expect(() => distilbertCosineLoss().compute({ ...ctx, batch: { ...ctx.batch, mlmLabels: wide } }))
      .toThrow(/batch mlmLabels \[2, 4\] does not fit the batch's attentionMask \[2, 3\]/);
    tf.dispose(wide);
    dispose();
  });

  it('mismatched mlmLogits name the feature and both shapes; wrong rank and missing features are named', () => {
    const { ctx, dispose } = context({ mlmLogits: rand3(rng, 2, 3, 6), hidden: [rand3(rng, 2, 3, 4)] }, { mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, mask, labels);
    expect(() => distilbertCosineLoss().compute(ctx)).toThrow(/distilbert-cosine: feature 'mlmLogits': teacher shape \[2, 3, 6\] does not match student shape \[2, 3, 5\]/);
    expect(() => distilbertCosineLoss().compute({ ...ctx, student: { hidden: ctx.student.hidden } })).toThrow(/feature 'mlmLogits': missing from the student outputs/);
    expect(() => distilbertCosineLoss({ alphaCe: 0, alphaMlm: 0 }).compute({ ...ctx, teacher: {} })).toThrow(/feature 'hidden': missing from the teacher outputs/);
    const flat = tf.zeros([2, 15]);
    expect(() => distilbertCosineLoss().compute({ ...ctx, student: { ...ctx.student, mlmLogits: flat } })).toThrow(/mlmLogits.*\[2, 15\].*rank 3/);
    tf.dispose(flat);
    dispose();
  });

  it('a hidden list shorter than the model info says names the layer index', () => {
    const { ctx, dispose } = context({ mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, { mlmLogits: rand3(rng, 2, 3, 5), hidden: [rand3(rng, 2, 3, 4)] }, mask, labels);
    expect(() => distilbertCosineLoss().compute({ ...ctx, teacherInfo: info(3, 4) })).toThrow(/feature 'hidden' layer 3: the teacher has 1 entry/);
    dispose();
  });

  it('refuses target logits on a one-output head', () => {
    const { ctx, dispose } = context({ logits: [[0.3], [1]] }, { logits: [[0.1], [2]] }, mask);
    expect(() => distilbertCosineLoss({ target: 'logits', alphaCos: 0 }).compute(ctx)).toThrow(/feature 'logits' has shape \[2, 1\].*regression/);
    dispose();
  });

  it.each([0, -1, Number.NaN, '2'])('rejects temperature %s', (temperature) => {
    expect(() => distilbertCosineLoss({ temperature } as unknown as DistilbertCosineOptions)).toThrow(/^distilbert-cosine options\.temperature: expected a number/);
  });

  it.each(['alphaCe', 'alphaMlm', 'alphaCos'])('rejects a negative or non-finite %s', (key) => {
    expect(() => distilbertCosineLoss({ [key]: -1 })).toThrow(`distilbert-cosine options.${key}: expected a number >= 0, got -1`);
    expect(() => distilbertCosineLoss({ [key]: Infinity })).toThrow(`distilbert-cosine options.${key}: expected a number, got Infinity`);
  });

  it('rejects an unknown target, a non-boolean restrictToMasked, and all-zero weights', () => {
    expect(() => distilbertCosineLoss({ target: 'cls' } as unknown as DistilbertCosineOptions)).toThrow('distilbert-cosine options.target: expected one of "mlm", "logits", got "cls"');
    expect(() => distilbertCosineLoss({ restrictToMasked: 1 } as unknown as DistilbertCosineOptions)).toThrow('distilbert-cosine options.restrictToMasked: expected true or false, got 1');
    expect(() => distilbertCosineLoss({ alphaCe: 0, alphaMlm: 0, alphaCos: 0 })).toThrow(/all 0/);
  });

  it('refuses mlm-only options with target logits', () => {
    expect(() => distilbertCosineLoss({ target: 'logits', alphaMlm: 2 })).toThrow(/option 'alphaMlm' applies to target 'mlm' only/);
    expect(() => distilbertCosineLoss({ target: 'logits', restrictToMasked: true })).toThrow(/option 'restrictToMasked' applies to target 'mlm' only/);
    expect(() => distilbertCosineLoss({ target: 'logits', alphaMlm: 0 })).not.toThrow();
  });
});

// ---- plugin ----

describe('distilbert-cosine plugin', () => {
  const env: PluginEnv = { teacherInfo: info(4, 8), studentInfo: info(2, 8), seed: 1, logger: silentLogger, resolveMapping: () => { throw new Error('unused'); } };

  it('registers with a Distillery and is found by name', () => {
    const d = createDistillery({ logger: silentLogger }).use(distilbertCosine);
    const found = d.plugins.get('loss', 'distilbert-cosine');
    expect(found).toBe(distilbertCosine);
    const loss = found.create({}, env);
    expect(loss.name).toBe('distilbert-cosine');
    expect([...loss.teacherFeatures].sort()).toEqual(['hidden', 'mlmLogits']);
    expect([...loss.studentFeatures].sort()).toEqual(['hidden', 'mlmLogits']);
    expect(loss.variables).toEqual([]);
  });

  it('declares exactly its option keys and rejects unknown ones', () => {
    expect(Object.keys(distilbertCosine.options.shape).sort()).toEqual(['alphaCe', 'alphaCos', 'alphaMlm', 'restrictToMasked', 'target', 'temperature']);
    expect(() => checkOptionKeys(distilbertCosine, { temperature: 2, alphaCe: 1, target: 'logits' }, 'here')).not.toThrow();
    expect(() => checkOptionKeys(distilbertCosine, { alpha_ce: 2 }, 'here')).toThrow(/alpha_ce.*distilbert-cosine/);
  });
});
