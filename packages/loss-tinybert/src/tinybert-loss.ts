import * as tf from '@tensorflow/tfjs-core';
import {
  defineLossPlugin, DistilleryError, parseOptions, type DistillationLoss, type Feature, type LayerPair, type LossResult,
  type PluginEnv,
} from '@distillery/core';
import { assertRank, linear, requireLayer, Rng, shapeText, seededLinear, type SeededLinear } from '@distillery/core/kit';
import * as z from 'zod';
import { planText, teacherHeadsPlan, teacherScoresForStudent, type TeacherHeads } from './internals/heads.js';
import { featurePairs, type TinybertLayers } from './internals/pairs.js';
import { predictionLoss } from './prediction.js';

// One student head's teacher heads: a non-empty list of distinct indices (bounded by the teacher's count in create()).
const headGroup = z.array(z.int().min(0)).min(1).superRefine((group, ctx) => {
  const twice = group.find((h, k) => group.indexOf(h) !== k);
  if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `expected distinct teacher heads, got ${JSON.stringify(group)} (head ${twice} twice)`, input: group });
});

const pairs = z.array(z.strictObject({ student: z.int().min(0), teacher: z.int().min(0) }))
  .meta({ description: 'Pairs of list indices { student, teacher } (hidden: index 0 is the embeddings; attention: index 0 is layer 1).' });

/** The options of the TinyBERT loss, with their defaults. */
export const tinybertOptions = z.strictObject({
  /** 'intermediate': attention + hidden terms; 'prediction': soft cross-entropy of the logits. @default 'intermediate' */
  stage: z.enum(['intermediate', 'prediction']).default('intermediate')
    .meta({ description: "'intermediate': attention + hidden terms; 'prediction': soft cross-entropy of the logits. Default 'intermediate'." }),
  /** T of the prediction stage, p^T = softmax(z / T), with no T² factor (reference `--temperature`). @default 1 */
  temperature: z.number().gt(0).optional()
    .meta({ description: "Prediction stage only: softmax temperature, no T^2 factor. Default 1." }),
  /** 'shared': one learned map H_s → H_t for every hidden pair (the reference's `fit_dense`); 'per-layer': one per pair. @default 'shared' */
  projection: z.enum(['shared', 'per-layer']).optional()
    .meta({ description: "Intermediate stage only: one learned map for every hidden pair ('shared') or one per pair. Default 'shared'." }),
  /** Explicit pairs per feature (list indices), overriding the stage's mapping. @default the stage's mapping, else uniform */
  layers: z.strictObject({ hidden: pairs, attentionScores: pairs }).optional()
    .meta({ description: "Intermediate stage only: explicit pairs per feature, overriding the stage's mapping. Default: the stage's mapping, else uniform." }),
  /**
   * How A_t teacher heads meet A_s student heads in the attention term: 'equal' (the paper: A_t = A_s, one to one),
   * 'average' (student head i ← mean of teacher heads i·g .. i·g + g − 1, g = A_t / A_s an integer) or an explicit
   * map, entry i listing the teacher heads whose mean student head i learns. The counts are checked against the
   * models when the loss is built. @default 'equal'
   */
  teacherHeads: z.union([z.enum(['equal', 'average']), z.array(headGroup).min(1)]).optional()
    .meta({ description: "Intermediate stage only: how the teacher's attention heads meet the student's: 'equal' (one to one), " +
      "'average' (equal consecutive groups) or a list, one list of teacher heads per student head. Default 'equal'." }),
}) satisfies z.ZodType<{ layers?: TinybertLayers; teacherHeads?: TeacherHeads }>;

/** Options of the TinyBERT loss (every key optional). */
export type TinybertOptions = z.input<typeof tinybertOptions>;

/** What tinybertLoss needs from the stage: both models' shapes; the stage's mapping and seed when it has them. */
export type TinybertEnv = Pick<PluginEnv, 'teacherInfo' | 'studentInfo'> & Partial<Pick<PluginEnv, 'mapping' | 'seed' | 'logger'>>;

/** The TinyBERT loss; dispose() frees its projections. */
export type TinybertLoss = DistillationLoss & { dispose(): void };

const WHO = 'tinybert';
const INTERMEDIATE: ReadonlySet<Feature> = new Set(['hidden', 'attentionScores']);
/** Scores at or below this are the additive key mask (−10000·(1 − m)), not attention: the reference zeroes them. */
const MASKED = -100;

/**
 * r(x) = 0 where x ≤ −100, else x. A customGrad because tfjs records the comparison on the tape when x is the
 * student's (differentiable) scores, and LessEqual has no gradient: a plain tf.where fails in training.
 */
const dropMasked = (x: tf.Tensor): tf.Tensor => {
  const op = tf.customGrad((input, save) => {
    const v = input as tf.Tensor;
    (save as tf.GradSaveFunc)([v]);
    return {
      value: tf.where(tf.lessEqual(v, MASKED), tf.zerosLike(v), v),
      gradFunc: (dy, [saved]) => tf.where(tf.lessEqual(saved, MASKED), tf.zerosLike(dy as tf.Tensor), dy as tf.Tensor),
    };
  });
  return op(x);
};

const pairText = (f: Feature, p: LayerPair) => `feature '${f}' student ${f}[${p.student}] ↔ teacher ${f}[${p.teacher}]`;
const refuse = (key: string, stage: string) =>
  new DistilleryError(`${WHO}: option '${key}' does nothing in stage '${stage}'; remove it`, 'config');

/**
 * Jiao et al. (2020), "TinyBERT: Distilling BERT for Natural Language Understanding". Follows the reference
 * `huawei-noah/Pretrained-Language-Model/TinyBERT` (`task_distill.py`, `general_distill.py`):
 *
 *   attention  = Σ_pairs MSE( r(S_s), r(S_t) ),  S pre-softmax scores incl. −10000·(1 − m), r(x) = x ≤ −100 ? 0 : x,
 *                mean over B·A·S·S (padded query rows stay in)
 *   hidden     = Σ_pairs MSE( h_s·W + b , h_t ),  embeddings (index 0) included, no padding mask
 *   prediction = mean over B·C of −p_t^T · log p_s^T  (no T²);  MSE(z_s, z_t) for a one-output head
 *
 * Pairs: uniform, student layer i ↔ teacher i·N/M. W (the reference's `fit_dense`) is applied even when
 * H_s = H_t, as the reference does; it is initialised like torch nn.Linear, U(−1/√H_s, 1/√H_s), from the stage seed.
 *
 * Heads: the paper and the reference compare heads one to one (`teacherHeads: 'equal'`, the default). With
 * 'average' or a map (a departure from the paper), the teacher's scores are averaged over each student head's
 * group G_i BEFORE r, and the term is unchanged otherwise:
 *
 *   S̄_t[b, i] = (1/|G_i|) Σ_{j ∈ G_i} S_t[b, j],   attention = Σ_pairs MSE( r(S_s), r(S̄_t) ),  mean over B·A_s·S·S
 *
 * Every head carries the same additive mask −10000·(1 − m), so a masked entry of S̄_t is still −10000 plus a mean
 * of scores (≤ −100, dropped by r); a kept entry is the mean of the group's kept scores.
 */
export function tinybertLoss(options: TinybertOptions = {}, env: TinybertEnv): TinybertLoss {
  const { stage: which, temperature, projection, layers: explicitPairs, teacherHeads } =
    parseOptions(tinybertOptions, options, `${WHO} options`, `option for loss plugin '${WHO}'`);
  if (!env?.teacherInfo || !env.studentInfo) {
    throw new DistilleryError(`${WHO}: tinybertLoss(options, env) needs env.teacherInfo and env.studentInfo`, 'config');
  }
  if (which === 'prediction') {
    if (projection !== undefined) throw refuse('projection', which);
    if (explicitPairs !== undefined) throw refuse('layers', which);
    if (teacherHeads !== undefined) throw refuse('teacherHeads', which);
    return predictionLoss(WHO, temperature ?? 1);
  }
  if (temperature !== undefined) throw refuse('temperature', which);
  const perLayer = projection === 'per-layer';
  const { teacherInfo, studentInfo } = env;
  const heads = teacherHeadsPlan(WHO, teacherHeads ?? 'equal', teacherInfo.numHeads, studentInfo.numHeads);
  const attentionPairs = featurePairs(WHO, 'attentionScores', teacherInfo, studentInfo, explicitPairs, env.mapping);
  const hiddenPairs = featurePairs(WHO, 'hidden', teacherInfo, studentInfo, explicitPairs, env.mapping);
  const list = (f: Feature, pairs: LayerPair[]) => `${f} ${pairs.map((p) => `${p.student}↔${p.teacher}`).join(', ')}`;
  env.logger?.info(`${WHO}: pairs (student↔teacher list indices) ${list('attentionScores', attentionPairs)}; ` +
    `${list('hidden', hiddenPairs)}; projection '${perLayer ? 'per-layer' : 'shared'}'` +
    (heads.kind === 'one-to-one' ? '' : `; teacher heads averaged: ${planText(heads)}`));
  const seed = env.seed ?? 42;
  const [hs, ht] = [studentInfo.hiddenSize, teacherInfo.hiddenSize];
  const maps: SeededLinear[] = perLayer
    ? hiddenPairs.map((_, i) => seededLinear(hs, ht, Rng.derive(seed, WHO, 'fit_dense', i), `${WHO}_fit_dense${i}`))
    : [seededLinear(hs, ht, Rng.derive(seed, WHO, 'fit_dense'), `${WHO}_fit_dense`)];

  type Lists = { teacher: tf.Tensor[] | undefined; student: tf.Tensor[] | undefined };
  const checked = (f: 'hidden' | 'attentionScores', p: LayerPair, outputs: Lists) => {
    const rank = f === 'hidden' ? 3 : 4;
    const t = requireLayer(outputs.teacher, p.teacher, { who: WHO, feature: f, model: 'teacher' });
    const s = requireLayer(outputs.student, p.student, { who: WHO, feature: f, model: 'student' });
    assertRank(t, rank, { who: WHO, feature: f, layer: p.teacher, model: 'teacher' });
    assertRank(s, rank, { who: WHO, feature: f, layer: p.student, model: 'student' });
    return [t, s] as const;
  };
  const fail = (f: Feature, p: LayerPair, t: tf.Tensor, s: tf.Tensor, why: string) => new DistilleryError(
    `${WHO}: ${pairText(f, p)}: teacher shape ${shapeText(t.shape)}, student shape ${shapeText(s.shape)}: ${why}`, 'shape');

  return {
    name: WHO,
    teacherFeatures: INTERMEDIATE,
    studentFeatures: INTERMEDIATE,
    variables: maps.flatMap((m) => [m.weight, m.bias]),
    compute({ teacher, student }): LossResult {
      const scores = attentionPairs.map((p) => {
        const [t, s] = checked('attentionScores', p, { teacher: teacher.attentionScores, student: student.attentionScores });
        if (heads.kind === 'one-to-one') {
          if (t.shape[1] !== s.shape[1]) throw fail('attentionScores', p, t, s, `head counts differ (${t.shape[1]} vs ${s.shape[1]})`);
        } else if (t.shape[1] !== teacherInfo.numHeads || s.shape[1] !== heads.groups.length) {
          throw fail('attentionScores', p, t, s, `option 'teacherHeads' maps the teacher's ${teacherInfo.numHeads} heads ` +
            `onto ${heads.groups.length} student heads`);
        }
        if (t.shape.some((d, k) => k !== 1 && d !== s.shape[k])) throw fail('attentionScores', p, t, s, 'shapes differ');
        return [t, s] as const;
      });
      const states = hiddenPairs.map((p, i) => {
        const [t, s] = checked('hidden', p, { teacher: teacher.hidden, student: student.hidden });
        const { weight } = maps[perLayer ? i : 0];
        if (t.shape[0] !== s.shape[0] || t.shape[1] !== s.shape[1]) throw fail('hidden', p, t, s, 'batch or sequence sizes differ');
        if (s.shape[2] !== weight.shape[0] || t.shape[2] !== weight.shape[1]) {
          throw fail('hidden', p, t, s, `the projection maps ${weight.shape[0]} → ${weight.shape[1]}`);
        }
        return [t, s] as const;
      });
      return tf.tidy(() => {
        const attention = tf.addN(scores.map(([t, s]) =>
          tf.mean(tf.squaredDifference(dropMasked(s), dropMasked(teacherScoresForStudent(t, heads)))))) as tf.Scalar;
        const hidden = tf.addN(states.map(([t, s], i) => {
          const { weight, bias } = maps[perLayer ? i : 0];
          return tf.mean(tf.squaredDifference(linear(s, weight, bias), t));
        })) as tf.Scalar;
        return { total: tf.add(attention, hidden) as tf.Scalar, terms: { attention, hidden } };
      });
    },
    dispose() {
      tf.dispose(maps.flatMap((m) => [m.weight, m.bias]));
    },
  };
}

/** The 'tinybert' loss plugin: TinyBERT's intermediate (attention + hidden) or prediction distillation. */
export const tinybert = defineLossPlugin({
  name: WHO,
  options: tinybertOptions,
  create: (options, env) => tinybertLoss(options, env),
});
