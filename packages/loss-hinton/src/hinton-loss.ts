import * as tf from '@tensorflow/tfjs-core';
import {
  defineLossPlugin, DistilleryError, parseOptions, type DistillationLoss, type Feature, type LossResult,
} from '@distillery/core';
import { assertRank, assertSameShape, hardLabelLoss, requireFeature, shapeText } from '@distillery/core/kit';
import * as z from 'zod';

/** The options of the Hinton KD loss, with their defaults and bounds. */
export const hintonOptions = z.strictObject({
  /** Softmax temperature T dividing both models' logits (> 0; unused by softLoss 'mse'). @default 4 */
  temperature: z.number().gt(0).default(4)
    .meta({ description: "Softmax temperature T dividing both models' logits (unused by softLoss 'mse'). Default 4." }),
  /** Weight γ of the hard-label term, in [0, 1]; the soft term gets 1 − γ. @default 0.5 */
  hardWeight: z.number().min(0).max(1).default(0.5)
    .meta({ description: 'Weight of the hard-label term, in [0, 1]; the soft term gets 1 - hardWeight. Default 0.5.' }),
  /** Soft term: 'kl' (T²·KL, torchdistill/HF), 'ce' (cross-entropy, no T², TextBrewer), 'mse' (raw logits). @default 'kl' */
  softLoss: z.enum(['kl', 'ce', 'mse']).default('kl')
    .meta({ description: "Soft term: 'kl' (T^2 KL), 'ce' (cross-entropy, no T^2, TextBrewer), 'mse' (raw logits). Default 'kl'." }),
  /** Divisor of the 'kl' sum: rows B ('batchmean') or all B·C elements ('mean', torch KLDivLoss default). @default 'batchmean' */
  reduction: z.enum(['batchmean', 'mean']).default('batchmean')
    .meta({ description: "Divisor of the 'kl' sum: rows ('batchmean') or all elements ('mean'). Default 'batchmean'." }),
});

/** Options of the Hinton KD loss (every key optional). */
export type HintonOptions = z.input<typeof hintonOptions>;

const WHO = 'hinton';
const LOGITS: ReadonlySet<Feature> = new Set(['logits']);

/**
 * Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network":
 *
 *   total = γ · CE(z_s, y) + (1 − γ) · soft,   p^T = softmax(z / T)
 *
 * - 'kl'  soft = T² · Σ_c p_t^T (log p_t^T − log p_s^T), mean over rows. Follows torchdistill `KDLoss` and
 *         Hugging Face `distiller.py` (KLDivLoss 'batchmean' · T²). The T² keeps the soft gradients on the
 *         scale of the hard ones as T grows. reduction 'mean' divides by B·C instead of B (torch KLDivLoss's
 *         elementwise mean, as in the BERT-PKD reference's `kd.cls` with T²).
 * - 'ce'  soft = −Σ_c p_t^T log p_s^T, mean over rows, with NO T² factor: TextBrewer `kd_ce_loss`. Its soft
 *         gradients scale as 1/T² (Hinton et al. §2), which surprised TextBrewer's users (TextBrewer issue #39).
 * - 'mse' soft = mean over B·C of (z_s − z_t)² on raw logits; T is unused: the logit regression of Ba & Caruana
 *         (2014) used by the Distilled BiLSTM (Tang et al. 2019, "Distilling Task-Specific Knowledge from BERT
 *         into Simple Neural Networks").
 *
 * The hard term is core's hardLabelLoss (cross-entropy at T = 1, or MSE for a one-output regression head).
 * Without batch labels the hard term is skipped and total = soft. In a partly labelled batch the hard term is
 * the mean over the rows whose label is not -100 (the soft term keeps every row), and the mix is unchanged: a
 * batch whose labels are all -100 has hard = 0 and total = (1 − γ) · soft.
 */
export function hintonLoss(options: HintonOptions = {}): DistillationLoss {
  const { temperature: T, hardWeight: gamma, softLoss: kind, reduction: divide } =
    parseOptions(hintonOptions, options, `${WHO} options`, `option for loss plugin '${WHO}'`);
  // Saying 'mean' where it changes nothing is most likely a mistake, so it is refused rather than ignored.
  if (divide === 'mean' && kind !== 'kl') {
    throw new DistilleryError(
      `${WHO}: option 'reduction' 'mean' only applies to softLoss 'kl', got softLoss '${kind}'`, 'config');
  }

  const soft = (zt: tf.Tensor2D, zs: tf.Tensor2D): tf.Scalar => {
    const [rows, classes] = zs.shape;
    if (kind === 'mse') return tf.mean(tf.squaredDifference(zs, zt));
    if (classes === 1) {
      throw new DistilleryError(
        `${WHO}: feature 'logits' has shape ${shapeText(zs.shape)}, a one-output (regression) head, where ` +
        `softLoss '${kind}' (a softmax over classes) is meaningless; use softLoss 'mse'`, 'shape');
    }
    const logPs = tf.logSoftmax(tf.div(zs, T));
    const logPt = tf.logSoftmax(tf.div(zt, T));
    if (kind === 'ce') return tf.div(tf.neg(tf.sum(tf.mul(tf.exp(logPt), logPs))), rows);
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)));
    return tf.mul(kl, (T * T) / (divide === 'mean' ? rows * classes : rows));
  };

  return {
    name: WHO,
    teacherFeatures: LOGITS,
    studentFeatures: LOGITS,
    variables: [],
    compute({ teacher, student, batch }): LossResult {
      const zt = requireFeature(teacher.logits, { who: WHO, feature: 'logits', model: 'teacher' });
      const zs = requireFeature(student.logits, { who: WHO, feature: 'logits', model: 'student' });
      assertRank(zt, 2, { who: WHO, feature: 'logits', model: 'teacher' });
      assertRank(zs, 2, { who: WHO, feature: 'logits', model: 'student' });
      assertSameShape(zt, zs, { who: WHO, feature: 'logits' });
      return tf.tidy((): { total: tf.Scalar; terms: Record<string, tf.Scalar> } => {
        const s = soft(zt as tf.Tensor2D, zs as tf.Tensor2D);
        if (!batch.labels) return { total: s, terms: { soft: s } };
        const hard = hardLabelLoss(zs, batch.labels, WHO);
        return { total: tf.add(tf.mul(hard, gamma), tf.mul(s, 1 - gamma)) as tf.Scalar, terms: { hard, soft: s } };
      });
    },
  };
}

/** The 'hinton' loss plugin: Hinton et al. (2015) soft targets with temperature, plus the hard-label term. */
export const hinton = defineLossPlugin({
  name: WHO,
  options: hintonOptions,
  create: (options) => hintonLoss(options),
});
