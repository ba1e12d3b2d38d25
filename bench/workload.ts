// The fixed distillation workload of issue 7, shared by step.ts and the reference comparison:
// teacher 4×256 (4 heads, FFN 1024), student 2×128 (2 heads, FFN 512), vocabulary 8,000,
// sequence 128, batch 16 (the scaling sweep of step.ts --sweep changes these two); loss = Hinton KL
// (T = 2) + TinyBERT hidden MSE (learned projection) + TinyBERT attention MSE; AdamW. Dropout is off
// in both this and torch_step.py, so that the two measure the same arithmetic.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import type { Batch, DistillationLoss, Feature, ModelOutputs } from '@distillery/core';
import { hintonLoss } from '@distillery/loss-hinton';
import { tinybertLoss } from '@distillery/loss-tinybert';
import { BertModel } from '@distillery/models';

export const WORKLOAD = {
  teacher: { layers: 4, hidden: 256, heads: 4, ffn: 1024 },
  student: { layers: 2, hidden: 128, heads: 2, ffn: 512 },
  vocab: 8000, seq: 128, batch: 16, labels: 2, temperature: 2,
} as const;

const bertConfig = (m: { layers: number; hidden: number; heads: number; ffn: number }) => ({
  vocab_size: WORKLOAD.vocab, hidden_size: m.hidden, num_hidden_layers: m.layers, num_attention_heads: m.heads,
  intermediate_size: m.ffn, max_position_embeddings: 512, num_labels: WORKLOAD.labels,
  hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, layer_norm_eps: 1e-12,
});

/** Sequence length and batch size of one step; the models and losses stay those of WORKLOAD. */
export interface StepShape { seq: number; batch: number }

/**
 * Multiply-adds × 2 of one step, counting matrix products only: teacher forward, student forward +
 * backward (3× forward), and the projection of each hidden pair (forward + two gradient products).
 * With T = batch × seq tokens, per encoder layer of hidden size H and FFN size F: the four H×H projections
 * (8·T·H²), the two FFN products (4·T·H·F) and the two attention products (4·batch·seq²·H), so the cost
 * grows linearly in batch and between linearly and quadratically in seq. 20.80 GFLOP at seq 128, batch 16.
 */
export function analyticGflop(seq: number = WORKLOAD.seq, batch: number = WORKLOAD.batch): number {
  const S = seq, B = batch;
  const T = B * S;
  const encoder = (m: { layers: number; hidden: number; ffn: number }) =>
    m.layers * (4 * 2 * T * m.hidden * m.hidden + 2 * 2 * T * m.hidden * m.ffn + 2 * 2 * B * S * S * m.hidden);
  const pairs = WORKLOAD.student.layers + 1;
  const projection = pairs * 2 * T * WORKLOAD.student.hidden * WORKLOAD.teacher.hidden;
  return (encoder(WORKLOAD.teacher) + 3 * encoder(WORKLOAD.student) + 3 * projection) / 1e9;
}

/** A seeded batch of token ids with a few padded positions at the end of some rows. */
export function makeBatch(seed = 7, shape: StepShape = WORKLOAD): Batch {
  const { batch: B, seq: S } = shape, V = WORKLOAD.vocab;
  const rng = new Rng(seed);
  const ids = new Int32Array(B * S), mask = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    const length = Math.max(1, S - (b % 4) * 8);
    for (let s = 0; s < S; s++) {
      if (s < length) { ids[b * S + s] = 1 + rng.int(V - 1); mask[b * S + s] = 1; }
    }
  }
  return {
    inputIds: tf.tensor2d(ids, [B, S], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, S], 'int32'),
    labels: tf.tensor1d(Int32Array.from({ length: B }, (_, i) => i % WORKLOAD.labels), 'int32'),
  };
}

export interface Workload {
  teacher: BertModel;
  student: BertModel;
  losses: DistillationLoss[];
  optimizer: AdamW;
  batch: Batch;
  /** One distillation step; returns the loss (read once, after the step). */
  step(): number;
  /** Teacher-only / student-only inference of one batch (logits). */
  teacherInference(): void;
  studentInference(): void;
  dispose(): void;
}

/**
 * Builds the workload on the current backend (weights from fixed seeds: the same on every backend), for
 * one batch of `shape` (default seq 128, batch 16; seq at most the 512 positions of the models).
 */
export function buildWorkload(shape: StepShape = WORKLOAD): Workload {
  const { seq, batch: B } = shape;
  if (!(Number.isInteger(seq) && seq >= 1 && seq <= 512 && Number.isInteger(B) && B >= 1)) {
    throw new Error(`workload shape seq ${seq}, batch ${B}: seq must be 1-512 (position embeddings), batch a positive integer`);
  }
  const teacher = new BertModel(bertConfig(WORKLOAD.teacher), { seed: 1 });
  const student = new BertModel(bertConfig(WORKLOAD.student), { seed: 2 });
  const hinton = hintonLoss({ temperature: WORKLOAD.temperature, hardWeight: 0, softLoss: 'kl' });
  // 4 teacher heads for 2 student heads: the loss averages the teacher's heads in consecutive pairs (before r),
  // as torch_step.py does by hand.
  const tinybert = tinybertLoss({ teacherHeads: 'average' }, { teacherInfo: teacher.info, studentInfo: student.info, seed: 3 });
  const losses = [hinton, tinybert];
  const trainable = [...student.trainableVariables, ...tinybert.variables];
  const optimizer = new AdamW(trainable, { weightDecay: 0.01 });
  const batch = makeBatch(7, shape);
  const teacherFeatures = new Set<Feature>(['logits', 'hidden', 'attentionScores']);
  const studentFeatures = new Set<Feature>(['logits', 'hidden', 'attentionScores']);
  let stepCount = 0;

  const step = (): number => {
    stepCount++;
    const teacherOut = tf.tidy(() => teacher.forward(batch, teacherFeatures) as tf.TensorContainer) as ModelOutputs;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const studentOut = student.forward(batch, studentFeatures, { training: true, seed: stepCount });
        const ctx = { teacher: teacherOut, student: studentOut, batch, teacherInfo: teacher.info, studentInfo: student.info, step: stepCount };
        return tf.addN(losses.map((l) => l.compute(ctx).total)) as tf.Scalar;
      }, trainable);
      optimizer.applyGradients(grads, 1e-4);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    } finally {
      tf.dispose(teacherOut as tf.TensorContainer);
    }
  };
  const logits = new Set<Feature>(['logits']);
  const infer = (m: BertModel) => () => { const out = m.forward(batch, logits); out.logits!.dataSync(); tf.dispose(out as tf.TensorContainer); };

  return {
    teacher, student, losses, optimizer, batch, step,
    teacherInference: infer(teacher), studentInference: infer(student),
    dispose() {
      const state = optimizer.getState();
      tf.dispose([...state.m, ...state.v]);
      teacher.dispose();
      student.dispose();
      (tinybert as { dispose(): void }).dispose();
      tf.dispose([batch.inputIds, batch.attentionMask, batch.labels!]);
    },
  };
}
