import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkOptionKeys, createDistillery, DistilleryError, explicit, selectBackend, silentLogger, type Batch, type LayerPair,
  type LossContext, type ModelInfo, type PluginEnv,
} from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { expectComputeLeavesNoTensors, expectRel, thrown, thrownWithoutLeaks } from '@distillery/core/testing';
import { tinybert, tinybertLoss, tinybertPresets, type TinybertEnv, type TinybertOptions } from './index.js';

// ---- float64 reference, written out with loops over plain numbers (no tfjs, no plugin code) ----

type Seq = number[][][];            // hidden [B][S][H]
type Scores = number[][][][];       // attention scores [B][A][S][S]
interface Projection { w: number[][]; b: number[] }   // w [Hs][Ht], b [Ht]

const r = (x: number) => (x <= -100 ? 0 : x);

/** Σ over pairs of the mean over B·A·S·S of (r(S_s) − r(S_t))²; `rule` false leaves the scores as they are. */
function refAttention(ts: Scores[], ss: Scores[], pairs: LayerPair[], rule = true): number {
  const f = rule ? r : (x: number) => x;
  let total = 0;
  for (const { student, teacher } of pairs) {
    const T = ts[teacher], S = ss[student];
    let acc = 0, count = 0;
    for (let b = 0; b < S.length; b++) {
      for (let a = 0; a < S[b].length; a++) {
        for (let q = 0; q < S[b][a].length; q++) {
          for (let k = 0; k < S[b][a][q].length; k++) { acc += (f(S[b][a][q][k]) - f(T[b][a][q][k])) ** 2; count++; }
        }
      }
    }
    total += acc / count;
  }
  return total;
}

/** S̄_t: per student head i, the mean over the teacher heads groups[i] of the raw scores (mask included, before r). */
function refGroupHeads(ts: Scores[], groups: number[][]): Scores[] {
  const out: Scores[] = [];
  for (const T of ts) {
    const layer: Scores = [];
    for (let b = 0; b < T.length; b++) {
      const row: number[][][] = [];
      for (const group of groups) {
        const S = T[b][0].length;
        const head: number[][] = [];
        for (let q = 0; q < S; q++) {
          const line: number[] = [];
          for (let k = 0; k < S; k++) {
            let acc = 0;
            for (const j of group) acc += T[b][j][q][k];
            line.push(acc / group.length);
          }
          head.push(line);
        }
        row.push(head);
      }
      layer.push(row);
    }
    out.push(layer);
  }
  return out;
}

/** Σ over pairs of the mean over B·S·H_t of (h_s·W + b − h_t)², pair i using projs[i] (or projs[0] when shared). */
function refHidden(th: Seq[], sh: Seq[], pairs: LayerPair[], projs: Projection[]): number {
  let total = 0;
  pairs.forEach(({ student, teacher }, i) => {
    const { w, b: bias } = projs[projs.length === 1 ? 0 : i];
    const T = th[teacher], S = sh[student];
    let acc = 0, count = 0;
    for (let b = 0; b < S.length; b++) {
      for (let s = 0; s < S[b].length; s++) {
        for (let j = 0; j < bias.length; j++) {
          let y = bias[j];
          for (let k = 0; k < S[b][s].length; k++) y += S[b][s][k] * w[k][j];
          acc += (y - T[b][s][j]) ** 2;
          count++;
        }
      }
    }
    total += acc / count;
  });
  return total;
}

/** Mean over B·C of −p_t^T · log p_s^T; MSE(z_s, z_t) for one output. */
function refPrediction(zt: number[][], zs: number[][], T: number): number {
  const B = zs.length, C = zs[0].length;
  let acc = 0;
  for (let i = 0; i < B; i++) {
    if (C === 1) { acc += (zs[i][0] - zt[i][0]) ** 2; continue; }
    let mt = -Infinity, ms = -Infinity;
    for (let c = 0; c < C; c++) { mt = Math.max(mt, zt[i][c] / T); ms = Math.max(ms, zs[i][c] / T); }
    let st = 0, ss = 0;
    for (let c = 0; c < C; c++) { st += Math.exp(zt[i][c] / T - mt); ss += Math.exp(zs[i][c] / T - ms); }
    for (let c = 0; c < C; c++) {
      const pt = Math.exp(zt[i][c] / T - mt) / st;
      const logPs = zs[i][c] / T - ms - Math.log(ss);
      acc -= pt * logPs;
    }
  }
  return acc / (B * C);
}

// ---- helpers ----

const zip = (s: number[], t: number[]): LayerPair[] => s.map((student, i) => ({ student, teacher: t[i] }));
const f32 = (x: number) => Math.fround(x);

/** Hidden states [embeddings, layer 1..L]; padded positions hold values too (TinyBERT's hidden MSE keeps them). */
const hiddenStates = (rng: Rng, layers: number, B: number, S: number, H: number): Seq[] =>
  Array.from({ length: layers + 1 }, () => Array.from({ length: B }, () =>
    Array.from({ length: S }, () => Array.from({ length: H }, () => f32(rng.normal())))));

/**
 * Pre-softmax scores of a padded batch, QKᵀ/√d + (−10000)·(1 − m_key), for layers 1..L. Some kept entries are
 * placed in (−100, 0] on purpose (−99.5, −50), so a rule that zeroed every negative or every score below a
 * smaller cut-off would differ from the reference.
 */
function attentionScores(rng: Rng, layers: number, lengths: number[], A: number, S: number): Scores[] {
  return Array.from({ length: layers }, () => lengths.map((len) => Array.from({ length: A }, () =>
    Array.from({ length: S }, () => Array.from({ length: S }, (_, k) => {
      const u = rng.next();
      const raw = u < 0.1 ? -50 - 49.5 * rng.next() : rng.normal() * 3;
      return f32(raw + -10000 * (k < len ? 0 : 1));
    })))));
}

const info = (numLayers: number, hiddenSize: number, numHeads = 2): ModelInfo => ({ numLayers, hiddenSize, numHeads, numLabels: 3 });
const envOf = (n: number, m: number, ht: number, hs: number, extra: Partial<TinybertEnv> = {}): TinybertEnv =>
  ({ teacherInfo: info(n, ht), studentInfo: info(m, hs), seed: 3, ...extra });

interface Side { hidden?: Seq[]; scores?: Scores[]; logits?: number[][] }

/** A context over fresh tensors; `dispose` frees them. */
function context(teacher: Side, student: Side, lengths: number[]) {
  const S = teacher.hidden?.[0][0].length ?? teacher.scores?.[0][0][0].length ?? 2;
  const batch: Batch = {
    inputIds: tf.ones([lengths.length, S], 'int32') as tf.Tensor2D,
    attentionMask: tf.tensor2d(lengths.map((len) => Array.from({ length: S }, (_, s) => (s < len ? 1 : 0))), undefined, 'int32'),
  };
  const outputs = (side: Side) => ({
    hidden: side.hidden?.map((h) => tf.tensor3d(h)),
    attentionScores: side.scores?.map((s) => tf.tensor4d(s)),
    logits: side.logits ? tf.tensor2d(side.logits) : undefined,
  });
  const ctx: LossContext = {
    teacher: outputs(teacher), student: outputs(student), batch,
    teacherInfo: info(1, 1), studentInfo: info(1, 1), step: 1,
  };
  const all = (o: LossContext['teacher']) => [...(o.hidden ?? []), ...(o.attentionScores ?? []), ...(o.logits ? [o.logits] : [])];
  const dispose = () => tf.dispose([...all(ctx.teacher), ...all(ctx.student), batch.inputIds, batch.attentionMask]);
  return { ctx, dispose };
}

/** The projections of a loss as plain arrays, in variable order (W0, b0, W1, b1, ...). */
const projectionsOf = (variables: tf.Variable[]): Projection[] => Array.from({ length: variables.length / 2 }, (_, i) =>
  ({ w: variables[2 * i].arraySync() as number[][], b: variables[2 * i + 1].arraySync() as number[] }));

/** Builds the loss, runs compute once and reads every scalar, disposing every tensor. */
function run(options: TinybertOptions, env: TinybertEnv, teacher: Side, student: Side, lengths: number[]) {
  const loss = tinybertLoss(options, env);
  const { ctx, dispose } = context(teacher, student, lengths);
  try {
    const { total, terms } = loss.compute(ctx);
    const term = (k: string) => terms[k]?.dataSync()[0] ?? Number.NaN;
    const read = {
      total: total.dataSync()[0], attention: term('attention'), hidden: term('hidden'), prediction: term('prediction'),
      keys: Object.keys(terms), projs: projectionsOf(loss.variables),
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

// ---- intermediate values ----

describe('tinybert intermediate terms against a float64 reference', () => {
  const lengths = [5, 3, 2];
  const rng = new Rng(31);
  const t = { hidden: hiddenStates(rng, 4, 3, 5, 8), scores: attentionScores(rng, 4, lengths, 2, 5) };
  const s = { hidden: hiddenStates(rng, 2, 3, 5, 6), scores: attentionScores(rng, 2, lengths, 2, 5) };
  // LOSSES.md uniform, 4→2 (k = 2): attention layers 1,2 ↔ 2,4 (list indices 0,1 ↔ 1,3); hidden 0,1,2 ↔ 0,2,4.
  const ATT = zip([0, 1], [1, 3]);
  const HID = zip([0, 1, 2], [0, 2, 4]);

  it('defaults: uniform pairs, one shared projection, total = attention + hidden', () => {
    const got = run({}, envOf(4, 2, 8, 6), t, s, lengths);
    expect(got.keys).toEqual(['attention', 'hidden']);
    expect(got.projs).toHaveLength(1);
    const attention = refAttention(t.scores, s.scores, ATT);
    const hidden = refHidden(t.hidden, s.hidden, HID, got.projs);
    expectRel(got.attention, attention, 'attention');
    expectRel(got.hidden, hidden, 'hidden');
    expectRel(got.total, attention + hidden, 'total');
  });

  it(`projection 'per-layer' learns one map per hidden pair`, () => {
    const got = run({ projection: 'per-layer' }, envOf(4, 2, 8, 6), t, s, lengths);
    expect(got.projs).toHaveLength(3);
    expect(got.projs[0].w).not.toEqual(got.projs[1].w);
    expectRel(got.hidden, refHidden(t.hidden, s.hidden, HID, got.projs), 'hidden');
    expectRel(got.attention, refAttention(t.scores, s.scores, ATT), 'attention');
  });

  it('equal hidden sizes still go through the projection, as in the reference', () => {
    const same = { hidden: hiddenStates(new Rng(4), 2, 3, 5, 8), scores: s.scores };
    const got = run({}, envOf(4, 2, 8, 8), t, same, lengths);
    const identity: Projection = { w: Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) => (i === j ? 1 : 0))), b: Array(8).fill(0) };
    expectRel(got.hidden, refHidden(t.hidden, same.hidden, HID, got.projs), 'projected');
    expect(Math.abs(got.hidden - refHidden(t.hidden, same.hidden, HID, [identity]))).toBeGreaterThan(1e-2);
  });

  it('12→4 uses the paper\'s layers: attention 3,6,9,12 and hidden 0,3,6,9,12', () => {
    const q = new Rng(12);
    const t12 = { hidden: hiddenStates(q, 12, 2, 3, 4), scores: attentionScores(q, 12, [3, 2], 2, 3) };
    const s4 = { hidden: hiddenStates(q, 4, 2, 3, 4), scores: attentionScores(q, 4, [3, 2], 2, 3) };
    const got = run({}, envOf(12, 4, 4, 4), t12, s4, [3, 2]);
    expectRel(got.attention, refAttention(t12.scores, s4.scores, zip([0, 1, 2, 3], [2, 5, 8, 11])), 'attention');
    expectRel(got.hidden, refHidden(t12.hidden, s4.hidden, zip([0, 1, 2, 3, 4], [0, 3, 6, 9, 12]), got.projs), 'hidden');
  });

  it('the stage mapping is used when given; the layers option wins over it', () => {
    const stageMapping = explicit({ hidden: zip([0, 2], [0, 3]), attentionScores: zip([1], [2]) });
    const env = envOf(4, 2, 8, 6, { mapping: stageMapping });
    const viaStage = run({}, env, t, s, lengths);
    expectRel(viaStage.attention, refAttention(t.scores, s.scores, zip([1], [2])), 'stage attention');
    expectRel(viaStage.hidden, refHidden(t.hidden, s.hidden, zip([0, 2], [0, 3]), viaStage.projs), 'stage hidden');
    const layers = { hidden: zip([1], [1]), attentionScores: zip([0, 1], [0, 0]) };
    const viaOption = run({ layers }, env, t, s, lengths);
    expectRel(viaOption.attention, refAttention(t.scores, s.scores, layers.attentionScores), 'layers attention');
    expectRel(viaOption.hidden, refHidden(t.hidden, s.hidden, layers.hidden, viaOption.projs), 'layers hidden');
  });

  it('the ≤ −100 rule matters: the scores as they are would give another value', () => {
    const got = run({}, envOf(4, 2, 8, 6), t, s, lengths);
    expect(Math.abs(got.attention - refAttention(t.scores, s.scores, ATT, false))).toBeGreaterThan(1);
  });

  it('masked entries (≤ −100, −100 itself included) count as 0; −99.5 and −50 are kept', () => {
    // One batch row, one head, 2×2 scores; teacher and student differ only where noted.
    const teacherScores: Scores = [[[[1, -10000], [2, -10000.5]]]];
    const cases: [number[][], number][] = [
      [[[1, -10003], [2, -100]], 0],                            // masked keys, and exactly −100: zeroed on both sides
      [[[1, -10000], [2, -99.5]], (-99.5) ** 2 / 4],            // −99.5 is kept against the teacher's masked 0
      [[[-50, -10000], [2, -10000.5]], (-50 - 1) ** 2 / 4],     // −50 is kept
    ];
    const hid = (L: number) => hiddenStates(new Rng(1), L, 1, 2, 2);
    for (const [student, want] of cases) {
      const got = run({ layers: { hidden: zip([0], [0]), attentionScores: zip([0], [0]) } }, envOf(1, 1, 2, 2, { teacherInfo: info(1, 2, 1), studentInfo: info(1, 2, 1) }),
        { hidden: hid(1), scores: [teacherScores] }, { hidden: hid(1), scores: [[[student]]] }, [1]);
      expectRel(got.attention, want, JSON.stringify(student));
    }
  });

  it('the hidden term has no padding mask: padded positions count', () => {
    const base = run({}, envOf(4, 2, 8, 6), t, s, lengths).hidden;
    const padded = t.hidden.map((layer) => layer.map((row, b) => row.map((v, p) => (p < lengths[b] ? v : v.map(() => 10)))));
    const got = run({}, envOf(4, 2, 8, 6), { ...t, hidden: padded }, s, lengths);
    expectRel(got.hidden, refHidden(padded, s.hidden, HID, got.projs));
    expect(got.hidden).toBeGreaterThan(base + 1);
  });
});

// ---- prediction values ----

describe('tinybert prediction against a float64 reference', () => {
  const rng = new Rng(5);
  const randomLogits = (B: number, C: number) => Array.from({ length: B }, () => Array.from({ length: C }, () => f32(rng.normal() * 3)));
  const zt = randomLogits(6, 4), zs = randomLogits(6, 4);

  for (const T of [1, 2, 5]) {
    it(`soft cross-entropy, mean over B·C, no T² (T = ${T})`, () => {
      const got = run({ stage: 'prediction', temperature: T }, envOf(4, 2, 8, 6), { logits: zt }, { logits: zs }, [2, 2, 2, 2, 2, 2]);
      expect(got.keys).toEqual(['prediction']);
      expect(got.projs).toEqual([]);
      expectRel(got.prediction, refPrediction(zt, zs, T), 'prediction');
      expectRel(got.total, refPrediction(zt, zs, T), 'total');
    });
  }

  it('defaults to T = 1', () => {
    expectRel(run({ stage: 'prediction' }, envOf(4, 2, 8, 6), { logits: zt }, { logits: zs }, [2]).prediction, refPrediction(zt, zs, 1));
  });

  it('a one-output head is regressed onto the teacher with MSE', () => {
    const t1 = randomLogits(5, 1), s1 = randomLogits(5, 1);
    expectRel(run({ stage: 'prediction', temperature: 3 }, envOf(4, 2, 8, 6), { logits: t1 }, { logits: s1 }, [2]).prediction,
      refPrediction(t1, s1, 1), 'mse');
  });
});

// ---- projections ----

describe('tinybert projections', () => {
  it('are seeded from env.seed, U(−1/√H_s, 1/√H_s), trainable, exposed in variables and freed by dispose()', () => {
    const make = (seed: number, projection: 'shared' | 'per-layer' = 'shared') => tinybertLoss({ projection }, envOf(4, 2, 8, 16, { seed }));
    const [a, b, c, d] = [make(1), make(1), make(2), make(1, 'per-layer')];
    expect(a.variables.map((v) => v.shape)).toEqual([[16, 8], [8]]);
    expect(d.variables).toHaveLength(6);
    expect(a.variables.every((v) => v.trainable)).toBe(true);
    const values = (l: typeof a) => l.variables.flatMap((v) => Array.from(v.dataSync()));
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    expect(values(d).every((v) => Math.abs(v) <= 0.25)).toBe(true);
    expect(Math.max(...values(d).map(Math.abs))).toBeGreaterThan(0.2);
    const before = tf.memory().numTensors;
    [a, b, c, d].forEach((l) => l.dispose());
    expect(tf.memory().numTensors).toBe(before - 12);
  });
});

// ---- gradients ----

describe('tinybert gradients against central differences of the reference', () => {
  const lengths = [3, 2];
  const rng = new Rng(77);
  const t = { hidden: hiddenStates(rng, 2, 2, 3, 4), scores: attentionScores(rng, 2, lengths, 2, 3) };
  const s = { hidden: hiddenStates(rng, 1, 2, 3, 3), scores: attentionScores(rng, 1, lengths, 2, 3) };
  const HID = zip([0, 1], [0, 2]), ATT = zip([0], [1]);
  const h = 1e-6;

  it('d hidden / d shared projection weight', () => {
    const loss = tinybertLoss({}, envOf(2, 1, 4, 3));
    const { ctx, dispose } = context(t, s, lengths);
    const { grads } = tf.variableGrads(() => loss.compute(ctx).terms.hidden, loss.variables);
    const analytic = grads[loss.variables[0].name].arraySync() as number[][];
    const [proj] = projectionsOf(loss.variables);
    tf.dispose(grads);
    dispose();
    loss.dispose();
    const maxAbs = Math.max(...analytic.flat().map(Math.abs));
    expect(maxAbs).toBeGreaterThan(1e-2);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const at = (d: number) => {
          const w = proj.w.map((row) => [...row]);
          w[i][j] += d;
          return refHidden(t.hidden, s.hidden, HID, [{ w, b: proj.b }]);
        };
        expectRel(analytic[i][j], (at(h) - at(-h)) / (2 * h), `d/dW[${i}][${j}]`, 1e-5 * maxAbs);
      }
    }
  });

  it('d attention / d student scores: zero where masked, (2/n)(S_s − S_t) elsewhere', () => {
    const loss = tinybertLoss({}, envOf(2, 1, 4, 3));
    const { ctx, dispose } = context(t, s, lengths);
    const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, attentionScores: [x] } }).terms.attention)(
      ctx.student.attentionScores![0]);
    const analytic = g.arraySync() as Scores;
    tf.dispose(g);
    dispose();
    loss.dispose();
    const flat = analytic.flat(3);
    const maxAbs = Math.max(...flat.map(Math.abs));
    let masked = 0;
    analytic.forEach((rows, b) => rows.forEach((heads, a) => heads.forEach((row, q) => row.forEach((value, k) => {
      const at = (d: number) => {
        const copy = s.scores.map((l) => l.map((x) => x.map((y) => y.map((z) => [...z]))));
        copy[0][b][a][q][k] += d;
        return refAttention(t.scores, copy, ATT);
      };
      if (s.scores[0][b][a][q][k] <= -100) { masked++; expect(value).toBe(0); }
      else expectRel(value, (at(1e-4) - at(-1e-4)) / 2e-4, `d/dS[${b}][${a}][${q}][${k}]`, 1e-5 * maxAbs);
    }))));
    expect(masked).toBeGreaterThan(0);
  });

  it('d prediction / d student logits (T = 2)', () => {
    const zt = [[1, -2, 0.5], [0.3, 0.1, 2]], zs = [[-1, 0.4, 0.2], [2, -0.5, 0]];
    const loss = tinybertLoss({ stage: 'prediction', temperature: 2 }, envOf(2, 1, 4, 3));
    const { ctx, dispose } = context({ logits: zt }, { logits: zs }, [1, 1]);
    const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { logits: x } }).terms.prediction)(ctx.student.logits!);
    const analytic = g.arraySync() as number[][];
    tf.dispose(g);
    dispose();
    for (let i = 0; i < 2; i++) {
      for (let c = 0; c < 3; c++) {
        const at = (d: number) => { const copy = zs.map((row) => [...row]); copy[i][c] += d; return refPrediction(zt, copy, 2); };
        expectRel(analytic[i][c], (at(h) - at(-h)) / (2 * h), `d/dz[${i}][${c}]`, 1e-7);
      }
    }
  });
});

// ---- memory ----

describe('tinybert memory', () => {
  const lengths = [2, 1];
  const rng = new Rng(6);
  const t = { hidden: hiddenStates(rng, 2, 2, 2, 4), scores: attentionScores(rng, 2, lengths, 2, 2), logits: [[1, 2], [0, 1]] };
  const s = { hidden: hiddenStates(rng, 1, 2, 2, 3), scores: attentionScores(rng, 1, lengths, 2, 2), logits: [[0, 2], [1, 1]] };

  for (const options of [{}, { projection: 'per-layer' }, { stage: 'prediction' }] as TinybertOptions[]) {
    it(`leaves no tensors behind (${JSON.stringify(options)})`, () => {
      const loss = tinybertLoss(options, envOf(2, 1, 4, 3));
      const { ctx, dispose } = context(t, s, lengths);
      expectComputeLeavesNoTensors(loss, ctx);
      dispose();
      loss.dispose();
    });
  }

  it('leaves no tensors behind when compute throws', () => {
    const loss = tinybertLoss({}, envOf(2, 1, 4, 3));
    const { ctx, dispose } = context(t, { ...s, hidden: s.hidden.slice(0, 1) }, lengths);
    expect(thrownWithoutLeaks(() => loss.compute(ctx))).toBeInstanceOf(DistilleryError);
    dispose();
    loss.dispose();
  });
});

// ---- errors ----

describe('tinybert errors', () => {
  const lengths = [3, 2];
  const rng = new Rng(13);
  const t = { hidden: hiddenStates(rng, 4, 2, 3, 8), scores: attentionScores(rng, 4, lengths, 2, 3) };
  const s = { hidden: hiddenStates(rng, 2, 2, 3, 6), scores: attentionScores(rng, 2, lengths, 2, 3) };
  const computeError = (teacher: Side, student: Side, env = envOf(4, 2, 8, 6)) => {
    const loss = tinybertLoss({}, env);
    const { ctx, dispose } = context(teacher, student, lengths);
    try {
      return thrown(() => loss.compute(ctx));
    } finally {
      dispose();
      loss.dispose();
    }
  };

  it('N not a multiple of M names both layer counts', () => {
    const e = thrown(() => tinybertLoss({}, envOf(6, 4, 8, 6)));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('mapping');
    expect(e.message).toMatch(/^tinybert: feature '(attentionScores|hidden)'/);
    expect(e.message).toContain(`teacher's 6 layers with the student's 4`);
    expect(e.message).toContain('teacher layers (6) must be a multiple of student layers (4)');
  });

  it('head counts that differ are refused at creation, naming both counts', () => {
    const e = thrown(() => tinybertLoss({}, { teacherInfo: info(4, 8, 4), studentInfo: info(2, 6, 2) }));
    expect(e.message).toBe(`tinybert: feature 'attentionScores': head counts differ (teacher 4, student 2); ` +
      `TinyBERT's attention loss compares the heads one to one`);
  });

  it('head counts that differ in the tensors name the layer pair and both shapes', () => {
    const oneHead = { ...s, scores: s.scores.map((l) => l.map((row) => [row[0]])) };
    const e = computeError(t, oneHead);
    expect(e.message).toBe(`tinybert: feature 'attentionScores' student attentionScores[0] ↔ teacher attentionScores[1]: ` +
      `teacher shape [2, 2, 3, 3], student shape [2, 1, 3, 3]: head counts differ (2 vs 1)`);
  });

  it('attention scores of another sequence length name the pair and both shapes', () => {
    const longer = { ...s, scores: attentionScores(rng, 2, lengths, 2, 4) };
    expect(computeError(t, longer).message).toMatch(/attentionScores\[0\] ↔ teacher attentionScores\[1\].*\[2, 2, 3, 3\].*\[2, 2, 4, 4\].*shapes differ/);
  });

  it('hidden states that do not fit the projection name the pair, both shapes and the map', () => {
    const wide = { ...s, hidden: hiddenStates(rng, 2, 2, 3, 5) };
    expect(computeError(t, wide).message).toBe(`tinybert: feature 'hidden' student hidden[0] ↔ teacher hidden[0]: ` +
      `teacher shape [2, 3, 8], student shape [2, 3, 5]: the projection maps 6 → 8`);
    const shorter = { ...s, hidden: hiddenStates(rng, 2, 2, 2, 6) };
    expect(computeError(t, shorter).message).toMatch(/hidden\[0\].*\[2, 3, 8\].*\[2, 2, 6\].*sequence sizes differ/);
  });

  it('a missing layer names the feature, the layer index, the model and how many it has', () => {
    expect(computeError(t, { ...s, scores: s.scores.slice(0, 1) }).message)
      .toMatch(/^tinybert: feature 'attentionScores' layer 1: the student has 1 entr(y|ies) for this feature$/);
    expect(computeError({ ...t, hidden: t.hidden.slice(0, 3) }, s).message)
      .toMatch(/^tinybert: feature 'hidden' layer 4: the teacher has 3 entries for this feature$/);
  });

  it('a missing feature names it and the model; wrong ranks name the layer and shape', () => {
    expect(computeError(t, { hidden: s.hidden }).message).toMatch(/tinybert: feature 'attentionScores'.*student/);
    const { ctx, dispose } = context(t, s, lengths);
    const flat = { ...ctx, student: { ...ctx.student, hidden: ctx.student.hidden!.map((x) => tf.reshape(x, [2, 18])) } };
    expect(() => tinybertLoss({}, envOf(4, 2, 8, 6)).compute(flat)).toThrow(/tinybert: feature 'hidden' layer 0: student.*\[2, 18\].*rank 3/);
    tf.dispose(flat.student.hidden);
    dispose();
  });

  it('layers out of range are refused with the feature, the index and both counts', () => {
    const e = thrown(() => tinybertLoss({ layers: { hidden: zip([0], [5]), attentionScores: zip([0], [0]) } }, envOf(4, 2, 8, 6)));
    expect(e.message).toMatch(/^tinybert: feature 'hidden'.*pairs\[0\]\.teacher = 5 is out of range.*teacher 4 layers, student 2 layers/);
  });

  it('validates options by name', () => {
    const env = envOf(4, 2, 8, 6);
    expect(() => tinybertLoss({ stage: 'task' } as unknown as TinybertOptions, env))
      .toThrow(`tinybert options.stage: expected one of "intermediate", "prediction", got "task"`);
    expect(() => tinybertLoss({ projection: 'each' } as unknown as TinybertOptions, env))
      .toThrow(`tinybert options.projection: expected one of "shared", "per-layer", got "each"`);
    for (const temperature of [0, -1, Number.NaN, '2']) {
      expect(() => tinybertLoss({ stage: 'prediction', temperature } as unknown as TinybertOptions, env)).toThrow(/^tinybert options\.temperature: expected a number/);
    }
    expect(() => tinybertLoss({ layers: [] } as unknown as TinybertOptions, env)).toThrow('tinybert options.layers: expected an object, got an empty list');
    expect(() => tinybertLoss({ layers: { hidden: [] } } as unknown as TinybertOptions, env))
      .toThrow('tinybert options.layers.attentionScores: missing (expected a list)');
    expect(() => tinybertLoss({ layers: { hidden: [], attentionScores: [], attention: [] } } as unknown as TinybertOptions, env))
      .toThrow('tinybert options.layers.attention: unknown key; allowed: hidden, attentionScores');
    expect(() => tinybertLoss({ layers: { hidden: [], attentionScores: zip([0], [0]) } }, env)).toThrow(/feature 'hidden'.*no layer pairs/);
  });

  it('refuses options that would do nothing in the chosen stage', () => {
    const env = envOf(4, 2, 8, 6);
    expect(() => tinybertLoss({ temperature: 2 }, env)).toThrow(`tinybert: option 'temperature' does nothing in stage 'intermediate'; remove it`);
    expect(() => tinybertLoss({ stage: 'prediction', projection: 'shared' }, env)).toThrow(/'projection' does nothing in stage 'prediction'/);
    expect(() => tinybertLoss({ stage: 'prediction', layers: { hidden: [], attentionScores: [] } }, env)).toThrow(/'layers' does nothing/);
  });

  it('needs the models\' shapes', () => {
    expect(() => tinybertLoss({}, undefined as unknown as TinybertEnv)).toThrow(/tinybert: .*teacherInfo/);
  });
});

// ---- teacherHeads: a student with fewer heads than the teacher ----

describe(`tinybert option 'teacherHeads' (teacher 4 heads, student 2) against a float64 reference`, () => {
  const lengths = [5, 3, 2];
  const rng = new Rng(41);
  const t = { hidden: hiddenStates(rng, 4, 3, 5, 8), scores: attentionScores(rng, 4, lengths, 4, 5) };
  const s = { hidden: hiddenStates(rng, 2, 3, 5, 6), scores: attentionScores(rng, 2, lengths, 2, 5) };
  const ATT = zip([0, 1], [1, 3]);
  const HID = zip([0, 1, 2], [0, 2, 4]);
  const env = (extra: Partial<TinybertEnv> = {}) => envOf(4, 2, 8, 6, { teacherInfo: info(4, 8, 4), studentInfo: info(2, 6, 2), ...extra });
  const MAP = [[3, 0, 2], [1]];

  it(`'average': student head i against the mean of teacher heads 2i, 2i + 1, then r; the hidden term is unchanged`, () => {
    const got = run({ teacherHeads: 'average' }, env(), t, s, lengths);
    const attention = refAttention(refGroupHeads(t.scores, [[0, 1], [2, 3]]), s.scores, ATT);
    const hidden = refHidden(t.hidden, s.hidden, HID, got.projs);
    expectRel(got.attention, attention, 'attention');
    expectRel(got.hidden, hidden, 'hidden');
    expectRel(got.total, attention + hidden, 'total');
    // Not the first head of each group, nor groups of the wrong heads: the mean of the consecutive pairs.
    const firstHeads = refAttention(refGroupHeads(t.scores, [[0], [2]]), s.scores, ATT);
    const interleaved = refAttention(refGroupHeads(t.scores, [[0, 2], [1, 3]]), s.scores, ATT);
    expect(Math.abs(got.attention - firstHeads)).toBeGreaterThan(1e-2 * attention);
    expect(Math.abs(got.attention - interleaved)).toBeGreaterThan(1e-2 * attention);
  });

  it('an explicit map: student head i against the mean of the listed teacher heads (any order, any sizes)', () => {
    const got = run({ teacherHeads: MAP }, env(), t, s, lengths);
    expectRel(got.attention, refAttention(refGroupHeads(t.scores, MAP), s.scores, ATT), 'attention');
    expectRel(got.hidden, refHidden(t.hidden, s.hidden, HID, got.projs), 'hidden');
    const consecutive = run({ teacherHeads: [[0, 1], [2, 3]] }, env(), t, s, lengths);
    expectRel(consecutive.attention, run({ teacherHeads: 'average' }, env(), t, s, lengths).attention, `map = 'average'`);
  });

  it('the mean is taken before r: a kept score ≤ −100 in one head is averaged, not dropped', () => {
    // One batch row, 2×2 scores, key 1 masked. Teacher head 0 has a kept −150 at [0][0], head 1 has 50 there:
    // mean then r gives −50; r then mean would give 25. Masked keys stay masked after the mean.
    const teacher: Scores = [[[[-150, -10000 + 3], [2, -10000 - 1]], [[50, -10000 - 7], [4, -10000 + 2]]]];
    const student: Scores = [[[[0, -10000], [3, -10000]]]];
    const hid = (L: number) => hiddenStates(new Rng(1), L, 1, 2, 2);
    const got = run({ teacherHeads: 'average', layers: { hidden: zip([0], [0]), attentionScores: zip([0], [0]) } },
      envOf(1, 1, 2, 2, { teacherInfo: info(1, 2, 2), studentInfo: info(1, 2, 1) }),
      { hidden: hid(1), scores: [teacher] }, { hidden: hid(1), scores: [student] }, [1]);
    expectRel(got.attention, ((0 - -50) ** 2 + (3 - 3) ** 2) / 4, 'mean before r');
  });

  it(`equal head counts: 'average' is exactly the default; the identity map gives the same value`, () => {
    const s4 = { ...s, scores: attentionScores(new Rng(8), 2, lengths, 4, 5) };
    const same = (teacherHeads?: TinybertOptions['teacherHeads']) =>
      run(teacherHeads === undefined ? {} : { teacherHeads }, envOf(4, 2, 8, 6, { teacherInfo: info(4, 8, 4), studentInfo: info(2, 6, 4) }), t, s4, lengths);
    const base = same();
    expectRel(base.attention, refAttention(t.scores, s4.scores, ATT), 'default');
    expect(same('equal').attention).toBe(base.attention);
    expect(same('average').attention).toBe(base.attention);
    expectRel(same([[0], [1], [2], [3]]).attention, base.attention, 'identity map');
  });

  const cases: [string, TinybertOptions['teacherHeads'], number[][]][] = [[`'average'`, 'average', [[0, 1], [2, 3]]], ['a map', MAP, MAP]];
  for (const [label, teacherHeads, groups] of cases) {
    it(`d attention / d student scores with ${label}: zero where masked, matches central differences elsewhere`, () => {
      const q = new Rng(78);
      const tg = { hidden: hiddenStates(q, 2, 2, 3, 4), scores: attentionScores(q, 2, [3, 2], 4, 3) };
      const sg = { hidden: hiddenStates(q, 1, 2, 3, 3), scores: attentionScores(q, 1, [3, 2], 2, 3) };
      const loss = tinybertLoss({ teacherHeads }, envOf(2, 1, 4, 3, { teacherInfo: info(2, 4, 4), studentInfo: info(1, 3, 2) }));
      const { ctx, dispose } = context(tg, sg, [3, 2]);
      const g = tf.grad((x: tf.Tensor) => loss.compute({ ...ctx, student: { ...ctx.student, attentionScores: [x] } }).terms.attention)(
        ctx.student.attentionScores![0]);
      const analytic = g.arraySync() as Scores;
      tf.dispose(g);
      dispose();
      loss.dispose();
      const grouped = refGroupHeads(tg.scores, groups);
      const maxAbs = Math.max(...analytic.flat(3).map(Math.abs));
      expect(maxAbs).toBeGreaterThan(1e-2);
      let masked = 0;
      analytic.forEach((heads, b) => heads.forEach((rows, a) => rows.forEach((row, qi) => row.forEach((value, k) => {
        const at = (d: number) => {
          const copy = sg.scores.map((l) => l.map((x) => x.map((y) => y.map((z) => [...z]))));
          copy[0][b][a][qi][k] += d;
          return refAttention(grouped, copy, zip([0], [1]));
        };
        if (sg.scores[0][b][a][qi][k] <= -100) { masked++; expect(value).toBe(0); }
        else expectRel(value, (at(1e-4) - at(-1e-4)) / 2e-4, `d/dS[${b}][${a}][${qi}][${k}]`, 1e-5 * maxAbs);
      }))));
      expect(masked).toBeGreaterThan(0);
    });
  }

  it('leaves no tensors behind, also when compute throws', () => {
    for (const teacherHeads of ['average', MAP] as TinybertOptions['teacherHeads'][]) {
      const loss = tinybertLoss({ teacherHeads }, env());
      const { ctx, dispose } = context(t, s, lengths);
      expectComputeLeavesNoTensors(loss, ctx);
      // The teacher's tensors have 2 heads where the option expects 4.
      const twoHeads = { ...ctx, teacher: { ...ctx.teacher, attentionScores: ctx.student.attentionScores } };
      expect(thrownWithoutLeaks(() => loss.compute(twoHeads))).toBeInstanceOf(DistilleryError);
      // A student layer missing: the throw comes after the attention pairs were checked.
      const short = { ...ctx, student: { ...ctx.student, hidden: ctx.student.hidden!.slice(0, 1) } };
      expect(thrownWithoutLeaks(() => loss.compute(short))).toBeInstanceOf(DistilleryError);
      dispose();
      loss.dispose();
    }
  });

  it('logs the teacher heads each student head learns', () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: () => {} };
    tinybertLoss({ teacherHeads: 'average' }, env({ logger })).dispose();
    tinybertLoss({ teacherHeads: MAP }, env({ logger })).dispose();
    expect(lines[0]).toMatch(/projection 'shared'; teacher heads averaged: student 0 ← teacher 0, 1; student 1 ← teacher 2, 3$/);
    expect(lines[1]).toMatch(/; teacher heads averaged: student 0 ← teacher 3, 0, 2; student 1 ← teacher 1$/);
  });
});

describe(`tinybert option 'teacherHeads' errors`, () => {
  const make = (teacherHeads: unknown, teacher = 4, student = 2) =>
    thrown(() => tinybertLoss({ teacherHeads } as TinybertOptions, envOf(4, 2, 8, 6, { teacherInfo: info(4, 8, teacher), studentInfo: info(2, 6, student) })));

  it(`'equal' (the default) keeps the paper's rule and today's error`, () => {
    for (const e of [make(undefined), make('equal')]) {
      expect(e).toBeInstanceOf(DistilleryError);
      expect(e.message).toBe(`tinybert: feature 'attentionScores': head counts differ (teacher 4, student 2); ` +
        `TinyBERT's attention loss compares the heads one to one`);
    }
  });

  it(`'average' with 4 teacher heads and 3 student heads names the plugin, the option and both counts`, () => {
    const e = make('average', 4, 3);
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('config');
    expect(e.message).toBe(`tinybert: option 'teacherHeads' 'average' splits the teacher's heads into equal consecutive groups, ` +
      `one per student head, so the teacher's head count must be a multiple of the student's: teacher 4 heads, student 3 heads`);
  });

  it('a map with a teacher head out of range names the entry, the head and both counts', () => {
    expect(make([[0, 1], [2, 4]]).message).toBe(`tinybert: option 'teacherHeads' entry teacherHeads[1] = [2,4]: teacher head 4 is ` +
      `out of range (teacher 4 heads, student 2 heads; teacher heads are 0..3)`);
    // Values no head count can make right are refused by the options schema, at their path.
    expect(make([[-1], [2]]).message).toBe('tinybert options.teacherHeads[0][0]: expected an integer >= 0, got -1');
    expect(make([[0.5], [2]]).message).toBe('tinybert options.teacherHeads[0][0]: expected an integer, got 0.5');
    expect(make([['1'], [2]]).message).toBe('tinybert options.teacherHeads[0][0]: expected an integer, got "1"');
  });

  it('a map of the wrong length names the number of groups and both counts', () => {
    expect(make([[0], [1], [2]]).message).toBe(`tinybert: option 'teacherHeads' lists 3 groups of teacher heads, but the student ` +
      `has 2 heads (one group per student head; teacher 4 heads, student 2 heads)`);
    expect(make([[0, 1, 2, 3]]).message).toMatch(/lists 1 group of teacher heads, but the student has 2 heads/);
  });

  it('empty groups, repeated heads and values of another kind are refused by name', () => {
    expect(make([[0, 1], []]).message).toBe('tinybert options.teacherHeads[1]: expected at least 1 item, got an empty list');
    expect(make([[0, 0], [1]]).message).toBe('tinybert options.teacherHeads[0]: expected distinct teacher heads, got [0,0] (head 0 twice)');
    expect(make([[0], 1]).message).toBe('tinybert options.teacherHeads[1]: expected a list, got 1');
    expect(make('mean').message).toBe('tinybert options.teacherHeads: expected one of "equal", "average", got "mean"');
    expect(make(2).message).toBe('tinybert options.teacherHeads: expected one of "equal", "average" or a list, got 2');
    for (const e of [make('mean'), make([[0, 1], []])]) expect((e as DistilleryError).code).toBe('config');
  });

  it('does nothing in the prediction stage, so it is refused there', () => {
    expect(() => tinybertLoss({ stage: 'prediction', teacherHeads: 'average' }, envOf(4, 2, 8, 6)))
      .toThrow(`tinybert: option 'teacherHeads' does nothing in stage 'prediction'; remove it`);
  });

  it('tensors that do not fit the option name the layer pair, both shapes and the head counts', () => {
    const lengths = [3, 2];
    const rng = new Rng(14);
    const t = { hidden: hiddenStates(rng, 4, 2, 3, 8), scores: attentionScores(rng, 4, lengths, 2, 3) };
    const s = { hidden: hiddenStates(rng, 2, 2, 3, 6), scores: attentionScores(rng, 2, lengths, 2, 3) };
    const loss = tinybertLoss({ teacherHeads: 'average' }, envOf(4, 2, 8, 6, { teacherInfo: info(4, 8, 4), studentInfo: info(2, 6, 2) }));
    const { ctx, dispose } = context(t, s, lengths);
    try {
      expect(thrown(() => loss.compute(ctx)).message).toBe(`tinybert: feature 'attentionScores' student attentionScores[0] ↔ ` +
        `teacher attentionScores[1]: teacher shape [2, 2, 3, 3], student shape [2, 2, 3, 3]: option 'teacherHeads' maps the ` +
        `teacher's 4 heads onto 2 student heads`);
    } finally {
      dispose();
      loss.dispose();
    }
  });
});

// ---- plugin and presets ----

describe('tinybert plugin', () => {
  const env: PluginEnv = {
    teacherInfo: info(4, 8), studentInfo: info(2, 6), seed: 1, logger: silentLogger,
    resolveMapping: () => { throw new Error('unused'); },
  };

  it('registers with a Distillery; its features follow the stage', () => {
    const found = createDistillery({ logger: silentLogger }).use(tinybert).plugins.get('loss', 'tinybert');
    expect(found).toBe(tinybert);
    const intermediate = found.create({}, env);
    expect(intermediate.name).toBe('tinybert');
    expect([...intermediate.teacherFeatures].sort()).toEqual(['attentionScores', 'hidden']);
    expect([...intermediate.studentFeatures].sort()).toEqual(['attentionScores', 'hidden']);
    expect(intermediate.variables).toHaveLength(2);
    const prediction = found.create({ stage: 'prediction' }, env);
    expect([...prediction.teacherFeatures]).toEqual(['logits']);
    expect([...prediction.studentFeatures]).toEqual(['logits']);
    expect(prediction.variables).toEqual([]);
    tf.dispose(intermediate.variables);
  });

  it('logs the pairs it uses', () => {
    const lines: string[] = [];
    const loss = tinybert.create({}, { ...env, logger: { info: (m) => lines.push(m), warn: () => {} } });
    expect(lines).toEqual([`tinybert: pairs (student↔teacher list indices) attentionScores 0↔1, 1↔3; hidden 0↔0, 1↔2, 2↔4; projection 'shared'`]);
    tf.dispose(loss.variables);
  });

  it('declares exactly its option keys and rejects unknown ones', () => {
    expect(Object.keys(tinybert.options.shape).sort()).toEqual(['layers', 'projection', 'stage', 'teacherHeads', 'temperature']);
    expect(() => checkOptionKeys(tinybert, { stage: 'prediction', temperature: 2 }, 'here')).not.toThrow();
    expect(() => checkOptionKeys(tinybert, { temprature: 2 }, 'here')).toThrow(/temprature.*tinybert/);
  });

  it('presets: intermediate = attention + hidden (weight 1), prediction alone', () => {
    expect(tinybertPresets.intermediate()).toEqual([{ use: 'tinybert', weight: 1, options: { stage: 'intermediate' } }]);
    expect(tinybertPresets.prediction()).toEqual([{ use: 'tinybert', weight: 1, options: { stage: 'prediction' } }]);
    expect(tinybertPresets.prediction({ temperature: 2 })[0].options).toEqual({ stage: 'prediction', temperature: 2 });
    expect(tinybertPresets.intermediate({ projection: 'per-layer' })[0].options).toEqual({ stage: 'intermediate', projection: 'per-layer' });
  });
});
