import * as tf from '@tensorflow/tfjs-core';
import {
  defineLossPlugin, DistilleryError, last, parseOptions, skip, type DistillationLoss, type Feature, type LayerMapping,
  type LayerPair, type LossResult, type PluginEnv,
} from '@distillery/core';
import { assertRank, seededLinear, type SeededLinear, linear, requireLayer, Rng, shapeText } from '@distillery/core/kit';
import * as z from 'zod';

/** The options of the BERT-PKD patience loss, with their defaults. */
export const pkdOptions = z.strictObject({
  /** Teacher layers for student layers 1..M−1: 'skip' (i·N/M) or 'last' (N−M+i). Unset: the stage's mapping, else 'skip'. @default 'skip' */
  mapping: z.enum(['skip', 'last']).optional()
    .meta({ description: "Teacher layers for student layers 1..M-1: 'skip' (i*N/M) or 'last' (N-M+i). Default: the stage's mapping, else 'skip'." }),
  /** Divide each [CLS] vector by its L2 norm before the MSE (the reference's `normalize_patience`, on in `kd.cls`). @default true */
  normalize: z.boolean().default(true)
    .meta({ description: 'Divide each [CLS] vector by its L2 norm before the MSE (the reference normalize_patience). Default true.' }),
  /** Learn a linear map H_s → H_t so a student of another width can be taught (not in the paper). @default false */
  projection: z.boolean().default(false)
    .meta({ description: 'Learn a linear map from the student width to the teacher width (not in the paper). Default false.' }),
});

/** Options of the BERT-PKD patience loss (every key optional). */
export type PkdOptions = z.input<typeof pkdOptions>;

/** What pkdLoss needs from the stage: both models' shapes; the stage's mapping and seed when it has them. */
export type PkdEnv = Pick<PluginEnv, 'teacherInfo' | 'studentInfo'> & Partial<Pick<PluginEnv, 'mapping' | 'seed' | 'logger'>>;

/** The PKD loss; dispose() frees its projection, if it has one. */
export type PkdLoss = DistillationLoss & { dispose(): void };

const WHO = 'pkd';
const HIDDEN: ReadonlySet<Feature> = new Set(['hidden']);
/** torch F.normalize's eps, squared: x / max(‖x‖, 1e-12) = x · rsqrt(max(‖x‖², 1e-24)), whose gradient stays finite at 0. */
const EPS_SQUARED = 1e-24;

const pairText = (p: LayerPair) => `student hidden[${p.student}] ↔ teacher hidden[${p.teacher}]`;

function layerPairs(mapping: LayerMapping, n: number, m: number): LayerPair[] {
  let pairs: LayerPair[];
  try {
    pairs = mapping.pairs(n, m, 'hidden');
  } catch (error) {
    throw new DistilleryError(`${WHO}: feature 'hidden': cannot pair the teacher's ${n} layers with the student's ${m}: ` +
      `${(error as Error).message}`, 'mapping', { cause: error });
  }
  if (pairs.length === 0) {
    throw new DistilleryError(`${WHO}: feature 'hidden': mapping '${mapping.name}' gives no layer pairs for a teacher of ${n} ` +
      `and a student of ${m} layers; PKD teaches student layers 1..M−1 (the last is left to the logit loss), so the ` +
      `student needs at least 2 layers (use the hinton loss alone for 1)`, 'mapping');
  }
  // PKD teaches the student's encoder layers 1..M−1: not the embedding output (hidden[0]), nor the last layer,
  // which the logit loss teaches. skip and last keep to that; a stage mapping (uniform, explicit, …) may not.
  const bad = pairs.find((p) => !Number.isInteger(p.student) || p.student < 1 || p.student > m - 1);
  if (bad) {
    throw new DistilleryError(`${WHO}: feature 'hidden': mapping '${mapping.name}' pairs ${pairText(bad)}, but PKD teaches ` +
      `student encoder layers 1..${m - 1} (1..M−1: not the embeddings at hidden[0], nor the last layer, which is left ` +
      `to the logit loss); use mapping 'skip' or 'last' (the loss's option 'mapping', or the stage's)`, 'mapping');
  }
  return pairs;
}

/**
 * Sun, Cheng, Gan & Liu (2019), "Patient Knowledge Distillation for BERT Model Compression" (BERT-PKD):
 *
 *   patience = MSE( h_s/‖h_s‖₂ , h_t/‖h_t‖₂ ),   mean over B × pairs × H
 *
 * on the [CLS] vectors (sequence position 0) of paired `hidden` layers, each normalized over H. Follows the
 * reference `intersun/PKD-for-BERT-Model-Compression` (`patience_loss`: F.normalize(p=2, dim=2) then F.mse_loss,
 * an elementwise mean). Pairs: student layers 1..M−1; PKD-Skip pairs teacher i·N/M, PKD-Last N−M+i.
 * The paper's total adds the hinton loss: see pkdPaperLosses(). With `projection`, the student's vector is mapped
 * to H_t (x·W + b, initialised like torch nn.Linear from the stage seed) before normalizing.
 */
export function pkdLoss(options: PkdOptions = {}, env: PkdEnv): PkdLoss {
  const { mapping: chosen, normalize: unit, projection: project } =
    parseOptions(pkdOptions, options, `${WHO} options`, `option for loss plugin '${WHO}'`);
  if (!env?.teacherInfo || !env.studentInfo) {
    throw new DistilleryError(
      `${WHO}: pkdLoss(options, env) needs env.teacherInfo and env.studentInfo (layer counts, hidden sizes)`, 'config');
  }
  const { teacherInfo, studentInfo } = env;
  // An explicit option is a choice about this loss; the stage's mapping is a default for every loss.
  const map = chosen === 'last' ? last() : chosen === 'skip' ? skip() : env.mapping ?? skip();
  const pairs = layerPairs(map, teacherInfo.numLayers, studentInfo.numLayers);
  const [hs, ht] = [studentInfo.hiddenSize, teacherInfo.hiddenSize];
  if (!project && hs !== ht) {
    throw new DistilleryError(`${WHO}: feature 'hidden': hidden sizes differ (teacher ${ht}, student ${hs}); PKD compares ` +
      `[CLS] vectors directly, so set option 'projection: true' to learn a linear map ${hs} → ${ht}`, 'config');
  }
  const proj: SeededLinear | undefined = project
    ? seededLinear(hs, ht, Rng.derive(env.seed ?? 42, WHO, 'projection'), WHO) : undefined;
  env.logger?.info(`${WHO}: mapping '${map.name}', ${pairs.map(pairText).join(', ')}`);

  const cls = (x: tf.Tensor) => tf.reshape(tf.slice(x, [0, 0, 0], [-1, 1, -1]), [-1, x.shape[2] as number]) as tf.Tensor2D;
  const toUnit = (x: tf.Tensor) => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), EPS_SQUARED)));

  return {
    name: WHO,
    teacherFeatures: HIDDEN,
    studentFeatures: HIDDEN,
    variables: proj ? [proj.weight, proj.bias] : [],
    compute({ teacher, student }): LossResult {
      const layers = pairs.map((p) => {
        const t = requireLayer(teacher.hidden, p.teacher, { who: WHO, feature: 'hidden', model: 'teacher' });
        const s = requireLayer(student.hidden, p.student, { who: WHO, feature: 'hidden', model: 'student' });
        assertRank(t, 3, { who: WHO, feature: 'hidden', layer: p.teacher, model: 'teacher' });
        assertRank(s, 3, { who: WHO, feature: 'hidden', layer: p.student, model: 'student' });
        const fail = (why: string) => new DistilleryError(`${WHO}: feature 'hidden' ${pairText(p)}: teacher shape ` +
          `${shapeText(t.shape)}, student shape ${shapeText(s.shape)}: ${why}`, 'shape');
        if (t.shape[0] !== s.shape[0]) throw fail(`batch sizes differ`);
        const expected = proj ? proj.weight.shape : [ht, ht];
        if (s.shape[2] !== expected[0] || t.shape[2] !== expected[1]) {
          throw fail(proj ? `the projection maps ${expected[0]} → ${expected[1]}`
            : `hidden sizes differ (${t.shape[2]} vs ${s.shape[2]}); set option 'projection: true' to learn a linear map`);
        }
        return [t, s] as const;
      });
      return tf.tidy(() => {
        const sums = layers.map(([t, s]) => {
          let zt: tf.Tensor = cls(t);
          let zs: tf.Tensor = proj ? linear(cls(s), proj.weight, proj.bias) : cls(s);
          if (unit) { zt = toUnit(zt); zs = toUnit(zs); }
          return tf.sum(tf.squaredDifference(zs, zt));
        });
        const [batch, , width] = layers[0][0].shape as number[];
        const patience = tf.div(tf.addN(sums), batch * pairs.length * width) as tf.Scalar;
        return { total: patience, terms: { patience } };
      });
    },
    dispose() {
      if (proj) tf.dispose([proj.weight, proj.bias]);
    },
  };
}

/** The 'pkd' loss plugin: BERT-PKD's patience loss on normalized [CLS] vectors of paired hidden layers. */
export const pkd = defineLossPlugin({
  name: WHO,
  options: pkdOptions,
  create: (options, env) => pkdLoss(options, env),
});
