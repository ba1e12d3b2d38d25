import * as tf from '@tensorflow/tfjs-core';
import {
  defineLossPlugin, DistilleryError, parseOptions, type Batch, type DistillationLoss, type Feature, type LossResult,
  type ModelOutputs, type PluginEnv,
} from '@distillery/core';
import { assertRank, assertSameShape, embeddingLookup, maskedTokens, requireFeature, requireLayer, shapeText } from '@distillery/core/kit';
import * as z from 'zod';
import { cosineDistance, maskedLmCrossEntropy, rowKl, selectedMean } from './terms.js';

/** The options of the DistilBERT triple loss, with their defaults. */
export const distilbertCosineOptions = z.strictObject({
  /** Softmax temperature T of the ce term (> 0). @default 2 */
  temperature: z.number().gt(0).default(2).meta({ description: 'Softmax temperature T of the ce term. Default 2.' }),
  /** Weight α_ce of the soft-target term T²·KL (>= 0). @default 5 */
  alphaCe: z.number().min(0).default(5).meta({ description: 'Weight of the soft-target term T^2 KL. Default 5.' }),
  /** Weight α_mlm of the masked-LM cross-entropy (>= 0); target 'mlm' only. @default 2 (target 'mlm'), 0 (target 'logits') */
  alphaMlm: z.number().min(0).optional().meta({ description: "Weight of the masked-LM cross-entropy; target 'mlm' only. Default 2." }),
  /** Weight α_cos of the cosine term on the last hidden layer (>= 0). @default 1 */
  alphaCos: z.number().min(0).default(1).meta({ description: 'Weight of the cosine term on the last hidden layer. Default 1.' }),
  /** ce compares the masked-LM logits [B, S, V] ('mlm', general distillation) or classification logits [B, C] ('logits', task stage). @default 'mlm' */
  target: z.enum(['mlm', 'logits']).default('mlm')
    .meta({ description: "ce compares the masked-LM logits ('mlm', general distillation) or classification logits ('logits', task stage). Default 'mlm'." }),
  /** Target 'mlm': ce only at masked positions (mlmLabels ≠ −100), not every token (HF `restrict_ce_to_mask`). @default false */
  restrictToMasked: z.boolean().default(false)
    .meta({ description: "Target 'mlm': ce only at masked positions, not every token (HF restrict_ce_to_mask). Default false." }),
});

/** Options of the DistilBERT triple loss (every key optional). */
export type DistilbertCosineOptions = z.input<typeof distilbertCosineOptions>;

/** What distilbertCosineLoss checks early when it knows the stage; a plugin's PluginEnv fits. */
export type DistilbertCosineEnv = Pick<PluginEnv, 'teacherInfo' | 'studentInfo'>;

const WHO = 'distilbert-cosine';
const fail = (message: string, code: 'config' | 'shape' = 'config') => new DistilleryError(`${WHO}: ${message}`, code);

/**
 * DistilBERT's triple loss (Sanh et al. 2019, "DistilBERT, a distilled version of BERT"):
 *
 *   total = α_ce · ce + α_mlm · mlm + α_cos · cos,   p^T = softmax(z / T)
 *
 * - ce  = T² · Σ_v p_t^T (log p_t^T − log p_s^T), mean over the selected positions: non-padding tokens
 *         (attentionMask), or the masked ones (mlmLabels ≠ −100) with restrictToMasked.
 * - mlm = cross-entropy of the student's mlmLogits with mlmLabels, mean over labels ≠ −100.
 * - cos = 1 − cos(h_s, h_t) on the LAST hidden layer, mean over non-padding tokens (CosineEmbeddingLoss, target +1).
 *
 * Follows Hugging Face `examples/research_projects/distillation/distiller.py` (`Distiller.step`): KLDivLoss
 * 'batchmean' over the selected rows · T², CrossEntropyLoss(ignore_index=-100), CosineEmbeddingLoss 'mean'.
 * Where the reference divides 0 by 0 (no selected position, no masked token) this loss gives 0. A term whose α
 * is 0 is neither computed nor reported, and its features are not requested (as the reference skips it).
 * Target 'logits' (task stage): ce is the same KL on classification logits [B, C], mean over rows; the mlm term
 * does not exist there (add 'supervised' or 'hinton' for hard labels); cos stays on the last hidden layer.
 */
export function distilbertCosineLoss(options: DistilbertCosineOptions = {}, env?: DistilbertCosineEnv): DistillationLoss {
  const { temperature: T, alphaCe: aCe, alphaMlm, alphaCos: aCos, target: kind, restrictToMasked } =
    parseOptions(distilbertCosineOptions, options, `${WHO} options`, `option for loss plugin '${WHO}'`);
  const aMlm = alphaMlm ?? (kind === 'mlm' ? 2 : 0);
  // Options that would be silently ignored are most likely mistakes.
  if (kind === 'logits' && aMlm > 0) throw fail(`option 'alphaMlm' applies to target 'mlm' only; target 'logits' has no MLM term`);
  if (kind === 'logits' && restrictToMasked) throw fail(`option 'restrictToMasked' applies to target 'mlm' only`);
  if (aCe + aMlm + aCos === 0) throw fail(`alphaCe, alphaMlm and alphaCos are all 0: the loss would be constant`);
  if (aCos > 0 && env && env.teacherInfo.hiddenSize !== env.studentInfo.hiddenSize) {
    throw fail(`the cos term needs equal hidden sizes, got teacher ${env.teacherInfo.hiddenSize} and student ` +
      `${env.studentInfo.hiddenSize} (DistilBERT initialises the student from the teacher's layers); or set alphaCos: 0`, 'shape');
  }
  // Only the masked rows of the MLM head when no term needs every token (the vocabulary projection is most of
  // the step): the mlm term always, ce when restricted to the masked positions.
  const fullCe = kind === 'mlm' && aCe > 0 && !restrictToMasked;
  const studentLogits: Feature = kind === 'logits' ? 'logits' : fullCe ? 'mlmLogits' : 'mlmMaskedLogits';
  const teacherLogits: Feature = kind === 'logits' ? 'logits' : fullCe ? 'mlmLogits' : 'mlmMaskedLogits';
  const features = (student: boolean) => new Set<Feature>([
    ...(aCe > 0 || (student && aMlm > 0) ? [student ? studentLogits : teacherLogits] : []),
    ...(aCos > 0 ? ['hidden' as const] : []),
  ]);

  /** The batch's masked tokens (flat positions and labels), its mlmLabels checked against the batch and the vocabulary. */
  const maskedOf = (batch: Batch, vocab: number) => {
    const labels = batch.mlmLabels;
    if (!labels) {
      const why = aMlm > 0 ? `the mlm term (alphaMlm ${aMlm})` : 'restrictToMasked';
      throw fail(`the batch has no mlmLabels ([B, S], −100 where not masked), which ${why} needs; mask the ` +
        `inputs (DistilBERT masks 15 % of tokens)${aMlm > 0 ? ' or set alphaMlm: 0' : ''}`);
    }
    const [b, s] = batch.attentionMask.shape;
    if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== s) {
      throw fail(`batch mlmLabels ${shapeText(labels.shape)} does not fit the batch's attentionMask ${shapeText([b, s])}`, 'shape');
    }
    const masked = maskedTokens(labels);
    const bad = masked.labels.findIndex((id) => !(id >= 0 && id < vocab));
    if (bad >= 0) {
      const at = masked.positions[bad]!;
      throw fail(`mlmLabels[${Math.floor(at / s)}][${at % s}] = ${masked.labels[bad]} is neither ` +
        `−100 nor a token id of the ${vocab}-token vocabulary`, 'shape');
    }
    return masked;
  };

  /** A model's MLM logits [B, S, V], checked against the batch. */
  const fullLogits = (out: ModelOutputs, batch: Batch, model: 'teacher' | 'student') => {
    const z = requireFeature(out.mlmLogits, { who: WHO, feature: 'mlmLogits', model });
    assertRank(z, 3, { who: WHO, feature: 'mlmLogits', model });
    if (z.shape[0] !== batch.attentionMask.shape[0] || z.shape[1] !== batch.attentionMask.shape[1]) {
      throw fail(`feature 'mlmLogits' ${shapeText(z.shape)} does not fit the batch's attentionMask ` +
        `${shapeText(batch.attentionMask.shape)} (expected [B, S, V] and [B, S])`, 'shape');
    }
    return z;
  };

  /**
   * A model's MLM logits at the masked positions, [N, V]: its mlmMaskedLogits, or the masked rows of its
   * mlmLogits when it gave those (the same numbers).
   */
  const maskedLogits = (out: ModelOutputs, batch: Batch, model: 'teacher' | 'student', positions: Int32Array) => {
    if (!out.mlmMaskedLogits && out.mlmLogits) {
      const z = fullLogits(out, batch, model);
      const [b, s, v] = z.shape as [number, number, number];
      return embeddingLookup(tf.reshape(z, [b * s, v]) as tf.Tensor2D, tf.tensor1d(positions, 'int32'));
    }
    const z = requireFeature(out.mlmMaskedLogits, { who: WHO, feature: 'mlmMaskedLogits', model });
    assertRank(z, 2, { who: WHO, feature: 'mlmMaskedLogits', model });
    if (z.shape[0] !== positions.length) {
      throw fail(`${model} feature 'mlmMaskedLogits' ${shapeText(z.shape)} has ${z.shape[0]} rows where the batch has ` +
        `${positions.length} masked tokens (mlmLabels ≠ −100)`, 'shape');
    }
    return z;
  };

  /** The vocabulary size of a model's MLM output (full or masked rows). */
  const vocabOf = (out: ModelOutputs, model: 'teacher' | 'student') => {
    const z = out.mlmMaskedLogits ?? requireFeature(out.mlmLogits, { who: WHO, feature: studentLogits, model });
    return z.shape[z.rank - 1] as number;
  };

  const classLogits = (teacher: ModelOutputs, student: ModelOutputs) => {
    const zs = requireFeature(student.logits, { who: WHO, feature: 'logits', model: 'student' });
    assertRank(zs, 2, { who: WHO, feature: 'logits', model: 'student' });
    const zt = requireFeature(teacher.logits, { who: WHO, feature: 'logits', model: 'teacher' });
    assertRank(zt, 2, { who: WHO, feature: 'logits', model: 'teacher' });
    assertSameShape(zt, zs, { who: WHO, feature: 'logits' });
    if (zs.shape[1] === 1) {
      throw fail(`feature 'logits' has shape ${shapeText(zs.shape)}, a one-output (regression) head, where a softmax ` +
        `over classes is meaningless; use 'hinton' with softLoss 'mse'`, 'shape');
    }
    return { zt, zs };
  };

  const checkVocab = (zt: tf.Tensor, zs: tf.Tensor, feature: Feature) => {
    if (zt.shape[zt.rank - 1] !== zs.shape[zs.rank - 1]) {
      throw fail(`feature '${feature}': teacher shape ${shapeText(zt.shape)} and student shape ${shapeText(zs.shape)} ` +
        `differ in the vocabulary`, 'shape');
    }
  };

  const hiddenOf = (teacher: ModelOutputs, student: ModelOutputs, batch: Batch, ti: number, si: number) => {
    const ht = requireLayer(teacher.hidden, ti, { who: WHO, feature: 'hidden', model: 'teacher' });
    const hs = requireLayer(student.hidden, si, { who: WHO, feature: 'hidden', model: 'student' });
    assertRank(ht, 3, { who: WHO, feature: 'hidden', layer: ti, model: 'teacher' });
    assertRank(hs, 3, { who: WHO, feature: 'hidden', layer: si, model: 'student' });
    const site = `feature 'hidden' (last layer: teacher index ${ti}, student index ${si})`;
    const both = `teacher shape ${shapeText(ht.shape)}, student shape ${shapeText(hs.shape)}`;
    if (ht.shape[2] !== hs.shape[2]) {
      throw fail(`${site}: the cos term needs equal hidden sizes, got teacher ${ht.shape[2]} and student ${hs.shape[2]} ` +
        `(${both})`, 'shape');
    }
    const [b, s] = batch.attentionMask.shape;
    if (ht.shape[0] !== b || hs.shape[0] !== b || ht.shape[1] !== s || hs.shape[1] !== s) {
      throw fail(`${site}: ${both} do not fit the batch's attentionMask ${shapeText([b, s])}`, 'shape');
    }
    return { ht, hs };
  };

  return {
    name: WHO,
    teacherFeatures: features(false),
    studentFeatures: features(true),
    variables: [],
    compute({ teacher, student, batch, teacherInfo, studentInfo }): LossResult {
      const hidden = aCos > 0 ? hiddenOf(teacher, student, batch, teacherInfo.numLayers, studentInfo.numLayers) : undefined;
      if (kind === 'logits') {
        const { zt, zs } = classLogits(teacher, student);
        return tf.tidy(() => {
          const terms: Record<string, tf.Scalar> = {};
          const weighted: tf.Scalar[] = [];
          terms.ce = tf.mul(tf.mean(rowKl(zt, zs, T)), T * T) as tf.Scalar;
          weighted.push(tf.mul(terms.ce, aCe) as tf.Scalar);
          if (hidden) {
            terms.cos = selectedMean(cosineDistance(hidden.hs, hidden.ht), tf.cast(batch.attentionMask, 'float32'));
            weighted.push(tf.mul(terms.cos, aCos) as tf.Scalar);
          }
          return { total: tf.addN(weighted) as tf.Scalar, terms };
        });
      }
      const needsLogits = aCe > 0 || aMlm > 0;
      const zsFull = needsLogits && fullCe ? fullLogits(student, batch, 'student') : undefined;
      const ztFull = aCe > 0 && fullCe ? fullLogits(teacher, batch, 'teacher') : undefined;
      if (zsFull && ztFull) assertSameShape(ztFull, zsFull, { who: WHO, feature: 'mlmLogits' });
      const masked = aMlm > 0 || (aCe > 0 && restrictToMasked) ? maskedOf(batch, vocabOf(student, 'student')) : undefined;
      return tf.tidy((): { total: tf.Scalar; terms: Record<string, tf.Scalar> } => {
        const terms: Record<string, tf.Scalar> = {};
        const weighted: tf.Scalar[] = [];
        const zsMasked = masked ? maskedLogits(student, batch, 'student', masked.positions) : undefined;
        const rows = Math.max(masked?.positions.length ?? 0, 1);
        if (aCe > 0) {
          let ce: tf.Tensor;
          if (zsFull && ztFull) {
            ce = selectedMean(rowKl(ztFull, zsFull, T), tf.cast(batch.attentionMask, 'float32'));
          } else {
            const ztMasked = maskedLogits(teacher, batch, 'teacher', masked!.positions);
            checkVocab(ztMasked, zsMasked!, 'mlmMaskedLogits');
            ce = tf.div(tf.sum(rowKl(ztMasked, zsMasked!, T)), rows);
          }
          terms.ce = tf.mul(ce, T * T) as tf.Scalar;
          weighted.push(tf.mul(terms.ce, aCe) as tf.Scalar);
        }
        if (aMlm > 0) {
          terms.mlm = maskedLmCrossEntropy(zsMasked!, masked!.labels);
          weighted.push(tf.mul(terms.mlm, aMlm) as tf.Scalar);
        }
        if (hidden) {
          terms.cos = selectedMean(cosineDistance(hidden.hs, hidden.ht), tf.cast(batch.attentionMask, 'float32'));
          weighted.push(tf.mul(terms.cos, aCos) as tf.Scalar);
        }
        return { total: tf.addN(weighted) as tf.Scalar, terms };
      });
    },
  };
}

/** The 'distilbert-cosine' loss plugin: DistilBERT's soft-target + masked-LM + cosine triple loss. */
export const distilbertCosine = defineLossPlugin({
  name: WHO,
  options: distilbertCosineOptions,
  create: (options, env) => distilbertCosineLoss(options, env),
});
