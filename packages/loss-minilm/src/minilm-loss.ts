import * as tf from '@tensorflow/tfjs-core';
import {
  defineLossPlugin, DistilleryError, lastLayer, parseOptions, type Batch, type DistillationLoss, type Feature,
  type LayerMapping, type LayerPair, type LossResult, type ModelInfo, type ModelOutputs, type PluginEnv,
} from '@distillery/core';
import { assertRank, requireLayer, shapeText } from '@distillery/core/kit';
import * as z from 'zod';
import { keyMask, maskedKlSum, selfRelation, splitRelationHeads } from './relations.js';

/** The options of the MiniLM loss, with their defaults. */
export const miniLmOptions = z.strictObject({
  /** 1: attention + value-relation KL (Wang et al. 2020); 2: Q-Q, K-K, V-V relation KL (Wang et al. 2021). @default 1 */
  version: z.literal([1, 2]).default(1)
    .meta({ description: '1: attention + value-relation KL (MiniLM); 2: Q-Q, K-K, V-V relation KL (MiniLMv2). Default 1.' }),
  /** Version 2 only: relation heads R; must divide both hidden sizes. @default the teacher's head count */
  relationHeads: z.int().min(1).optional()
    .meta({ description: "Version 2 only: relation heads; must divide both hidden sizes. Default: the teacher's head count." }),
  /** Version 2 only: the teacher layer (1-based) the student's last layer learns from. @default the teacher's last */
  teacherLayer: z.int().min(1).optional()
    .meta({ description: "Version 2 only: the teacher layer (1-based) the student's last layer learns from. Default: the teacher's last." }),
});

/** Options of the MiniLM loss (every key optional). */
export type MiniLmOptions = z.input<typeof miniLmOptions>;

/** What minilmLoss needs to know about the stage; a plugin's PluginEnv fits. */
export type MiniLmEnv = Pick<PluginEnv, 'teacherInfo' | 'studentInfo' | 'mapping'>;

const WHO = 'minilm';
/** The features each version reads, and the term each one gives. */
const V1: readonly (readonly [Feature, string])[] = [['attentionScores', 'attention'], ['values', 'valueRelation']];
const V2: readonly (readonly [Feature, string])[] = [['queries', 'query'], ['keys', 'key'], ['values', 'value']];

const fail = (message: string, code: 'config' | 'shape' | 'mapping' = 'config') =>
  new DistilleryError(`${WHO}: ${message}`, code);
const where = (feature: Feature, p: LayerPair) =>
  `feature '${feature}' (teacher layer index ${p.teacher}, student layer index ${p.student})`;

/**
 * MiniLM: deep self-attention distillation of the last Transformer layer.
 *
 * - version 1 (Wang et al. 2020, "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of
 *   Pre-Trained Transformers"): attention = Σ KL(A_t ‖ A_s) over heads and query rows, from the pre-softmax
 *   `attentionScores`; valueRelation = Σ KL(VR_t ‖ VR_s), VR = softmax(V·Vᵀ/√d_head) per head, each side
 *   scaled by its own d_head. Each term is divided by A·S·B. Head counts must match.
 * - version 2 (Wang et al. 2021, "MiniLMv2: Multi-Head Self-Attention Relation Distillation"): the heads of
 *   queries, keys and values are concatenated and split into R relation heads; query, key and value =
 *   Σ KL(softmax(X_t·X_tᵀ/√(H_t/R)) ‖ softmax(X_s·X_sᵀ/√(H_s/R))), each divided by R·S·B. Head counts may differ.
 *
 * Follows PaddleNLP `calc_minilm_loss` (paddlenlp/transformers/distill_utils.py) as its MiniLMv2 example calls it
 * (examples/model_compression/minilmv2/general_distill.py): KLDivLoss('sum'), an additive −1e9 on padded keys
 * of both sides, padded query rows kept in the sum, total divided by R·S·B with S the padded length.
 * The pair is the student's last layer and the teacher's last (or `teacherLayer`); a stage mapping, when the
 * stage names one, replaces it and must give exactly one pair.
 */
export function minilmLoss(options: MiniLmOptions = {}, env?: MiniLmEnv): DistillationLoss {
  const { version, relationHeads, teacherLayer } =
    parseOptions(miniLmOptions, options, `${WHO} options`, `option for loss plugin '${WHO}'`);
  for (const [key, value] of [['relationHeads', relationHeads], ['teacherLayer', teacherLayer]] as const) {
    // An option that would be silently ignored is most likely a mistake.
    if (value !== undefined && version === 1) {
      throw fail(`option '${key}' applies to version 2 only; version 1 distils the last layer's heads one to one`);
    }
  }
  const terms = version === 1 ? V1 : V2;
  const features = terms.map(([f]) => f);

  /** The layer pair per feature and the relation head count, checked against both models. */
  const plan = (t: ModelInfo, s: ModelInfo, mapping: LayerMapping | undefined) => {
    if (mapping && teacherLayer !== undefined) {
      throw fail(`option 'teacherLayer' and the stage mapping '${mapping.name}' both choose the teacher layer; give one`);
    }
    if (teacherLayer !== undefined && teacherLayer > t.numLayers) {
      throw fail(`option 'teacherLayer' must be <= ${t.numLayers} (the teacher's layers), got ${teacherLayer}`);
    }
    const map = mapping ?? lastLayer({ teacherLayer });
    const pairs = new Map<Feature, LayerPair>();
    for (const f of features) {
      let list: LayerPair[];
      try {
        list = map.pairs(t.numLayers, s.numLayers, f);
      } catch (error) {
        throw new DistilleryError(`${WHO}: feature '${f}': cannot pair the teacher's ${t.numLayers} layers with the ` +
          `student's ${s.numLayers}: ${(error as Error).message}`, 'mapping', { cause: error });
      }
      if (list.length !== 1) {
        throw fail(`distils one layer pair, but mapping '${map.name}' gives ${list.length} for feature '${f}'; ` +
          `use mapping 'lastLayer' or none`, 'mapping');
      }
      pairs.set(f, list[0]);
    }
    if (version === 1 && t.numHeads !== s.numHeads) {
      throw fail(`version 1 compares heads one to one, but the teacher has ${t.numHeads} heads and the student ` +
        `${s.numHeads}; version 2 allows different head counts`, 'shape');
    }
    const r = relationHeads ?? t.numHeads;
    if (version === 2 && (t.hiddenSize % r !== 0 || s.hiddenSize % r !== 0)) {
      throw fail(`${r} relation heads${relationHeads === undefined ? ' (the default: the teacher\'s head count)' : ''} ` +
        `must divide both hidden sizes, got teacher ${t.hiddenSize} and student ${s.hiddenSize}; set option 'relationHeads'`);
    }
    return { pairs, relationHeads: r };
  };
  if (env) plan(env.teacherInfo, env.studentInfo, env.mapping);

  /** Both models' tensors of one feature, checked: rank 4, same batch and length as the mask, heads as needed. */
  const pick = (feature: Feature, p: LayerPair, teacher: ModelOutputs, student: ModelOutputs, batch: Batch) => {
    const t = requireLayer(teacher[feature] as tf.Tensor[] | undefined, p.teacher, { who: WHO, feature, model: 'teacher' });
    const s = requireLayer(student[feature] as tf.Tensor[] | undefined, p.student, { who: WHO, feature, model: 'student' });
    assertRank(t, 4, { who: WHO, feature, layer: p.teacher, model: 'teacher' });
    assertRank(s, 4, { who: WHO, feature, layer: p.student, model: 'student' });
    const both = `teacher shape ${shapeText(t.shape)}, student shape ${shapeText(s.shape)}`;
    if (version === 1 && t.shape[1] !== s.shape[1]) {
      throw fail(`${where(feature, p)}: version 1 needs equal head counts, got teacher ${t.shape[1]} heads and ` +
        `student ${s.shape[1]} heads (${both}); version 2 allows different head counts`, 'shape');
    }
    const mask = batch.attentionMask.shape;
    if (mask.length !== 2) throw fail(`batch attentionMask has shape ${shapeText(mask)}, expected [B, S]`, 'shape');
    if (t.shape[0] !== s.shape[0] || t.shape[2] !== s.shape[2] || t.shape[0] !== mask[0] || t.shape[2] !== mask[1]) {
      throw fail(`${where(feature, p)}: batch and sequence sizes must agree with the batch's attentionMask ` +
        `${shapeText(mask)} [B, S] (${both}, expected [B, heads, S, ·])`, 'shape');
    }
    if (feature === 'attentionScores' && (t.shape[3] !== mask[1] || s.shape[3] !== mask[1])) {
      throw fail(`${where(feature, p)}: scores must be [B, heads, S, S] with S = ${mask[1]} (${both})`, 'shape');
    }
    return [t as tf.Tensor4D, s as tf.Tensor4D] as const;
  };

  return {
    name: WHO,
    teacherFeatures: new Set(features),
    studentFeatures: new Set(features),
    variables: [],
    compute({ teacher, student, batch, teacherInfo, studentInfo }): LossResult {
      const { pairs, relationHeads: r } = plan(teacherInfo, studentInfo, env?.mapping);
      const picked = features.map((f) => [f, ...pick(f, pairs.get(f)!, teacher, student, batch)] as const);
      if (version === 2) {
        for (const [f, t, s] of picked) {
          const [ht, hs] = [t.shape[1] * t.shape[3], s.shape[1] * s.shape[3]];
          if (ht % r !== 0 || hs % r !== 0) {
            throw fail(`${where(f, pairs.get(f)!)}: ${r} relation heads must divide the concatenated head sizes, got ` +
              `teacher ${ht} (shape ${shapeText(t.shape)}) and student ${hs} (shape ${shapeText(s.shape)})`, 'shape');
          }
        }
      }
      return tf.tidy((): { total: tf.Scalar; terms: Record<string, tf.Scalar> } => {
        const keep = keyMask(batch.attentionMask);
        const [b, s] = batch.attentionMask.shape;
        const out: Record<string, tf.Scalar> = {};
        picked.forEach(([f, zt, zs], i) => {
          let t: tf.Tensor = zt, st: tf.Tensor = zs;
          if (version === 2) {
            t = selfRelation(splitRelationHeads(zt, r));
            st = selfRelation(splitRelationHeads(zs, r));
          } else if (f === 'values') {
            t = selfRelation(zt);
            st = selfRelation(zs);
          }
          const heads = version === 2 ? r : zs.shape[1];
          out[terms[i][1]] = tf.div(maskedKlSum(t, st, keep), heads * s * b) as tf.Scalar;
        });
        return { total: tf.addN(Object.values(out)) as tf.Scalar, terms: out };
      });
    },
  };
}

/** The 'minilm' loss plugin: MiniLM (v1) and MiniLMv2 last-layer self-attention relation distillation. */
export const minilm = defineLossPlugin({
  name: WHO,
  options: miniLmOptions,
  create: (options, env) => minilmLoss(options, env),
});
