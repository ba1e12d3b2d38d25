import type * as tf from '@tensorflow/tfjs-core';

/** Named features a model can emit; index conventions are fixed (see DESIGN.md). */
export interface ModelOutputs {
  /** [B, C] classification or regression head output. */
  logits?: tf.Tensor;
  /** [B, S, V] masked-LM head output. */
  mlmLogits?: tf.Tensor;
  /**
   * [N, V] masked-LM head output at the masked positions only (batch.mlmLabels ≠ −100), row-major (example,
   * then position); N may be 0. The head costs N/(B·S) of mlmLogits' (about 15 %).
   */
  mlmMaskedLogits?: tf.Tensor;
  /** [embeddings, layer1, ..., layerL], each [B, S, H]. */
  hidden?: tf.Tensor[];
  /** Per layer, pre-softmax scores including the additive mask, [B, A, S, S]; index 0 is layer 1. */
  attentionScores?: tf.Tensor[];
  /** Per layer, softmax probabilities, [B, A, S, S]; index 0 is layer 1. */
  attentionProbs?: tf.Tensor[];
  /** Per layer, [B, A, S, d_head]. */
  queries?: tf.Tensor[];
  /** Per layer, [B, A, S, d_head]. */
  keys?: tf.Tensor[];
  /** Per layer, [B, A, S, d_head]. */
  values?: tf.Tensor[];
}

/** The name of one model output. */
export type Feature = keyof ModelOutputs;

/** Every feature name, in a fixed order. */
export const ALL_FEATURES: readonly Feature[] = [
  'logits', 'mlmLogits', 'mlmMaskedLogits', 'hidden', 'attentionScores', 'attentionProbs', 'queries', 'keys', 'values',
];

/** One batch of examples; all int32 except float regression labels. */
export interface Batch {
  /** [B, S] token ids. */
  inputIds: tf.Tensor2D;
  /** [B, S], 1 = token, 0 = padding. */
  attentionMask: tf.Tensor2D;
  /** [B, S] segment ids. */
  tokenTypeIds?: tf.Tensor2D;
  /** [B] class ids (int32) or float targets (regression). */
  labels?: tf.Tensor1D;
  /** [B, S] masked-LM targets, -100 where not masked. */
  mlmLabels?: tf.Tensor2D;
}

/** Shape facts about a model that losses and mappings need. */
export interface ModelInfo {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  vocabSize?: number;
  numLabels?: number;
  /** Width of the feed-forward layers, for models that have them (teacher-assistant chains size assistants by it). */
  intermediateSize?: number;
}

/** A frozen model. forward() computes only the requested features. */
export interface Teacher {
  /** A human-readable name used in errors and logs, e.g. 'bert(4x256)'. */
  readonly name: string;
  readonly info: ModelInfo;
  /** The features forward() can produce. */
  readonly emits: ReadonlySet<Feature>;
  forward(batch: Batch, features: ReadonlySet<Feature>, options?: ForwardOptions): ModelOutputs;
  /** Frees the model's weights; a pipeline calls it on teachers it built from a plugin once their stage ends. */
  dispose?(): void;
  /**
   * Optional: the bytes one forward of this shape holds at its peak besides the weights (training:
   * with what the backward pass keeps and makes, and the weights' gradients). A stage adds it up before its first step and refuses a step
   * that cannot fit the backend's memory (stage/memory.ts).
   */
  estimateMemory?(shape: StepShape): MemoryEstimate;
}

/** The shape of one forward, for memory estimates. */
export interface StepShape {
  /** Rows of the batch. */
  batchSize: number;
  /** Tokens of the longest row. */
  sequenceLength: number;
  /** The features asked for. */
  features: ReadonlySet<Feature>;
  /** A training forward (the backward pass follows) or a frozen one. */
  training: boolean;
}

/** What a forward needs besides the weights. */
export interface MemoryEstimate {
  /** Bytes at the peak. */
  bytes: number;
  /** What they are, for the error that refuses a step, e.g. 'activations of 4 layers, 32 × 128 tokens'. */
  detail: string;
}

/** Per-call forward options. */
export interface ForwardOptions {
  /** Training mode (dropout on). @default false */
  training?: boolean;
  /** Seed for this call's dropout masks (the Distiller derives one per step, so resumed runs repeat them). */
  seed?: number;
}

/** A trainable model; its forward is differentiable w.r.t. trainableVariables. */
export interface Student extends Teacher {
  readonly trainableVariables: tf.Variable[];
  /** Writes the model in its own format to a folder. */
  save(dir: string): Promise<void>;
  /** A frozen view, used by pipelines (teacher-assistant chaining). */
  asTeacher(): Teacher;
}

/** Which student layer learns from which teacher layer. */
export interface LayerPair {
  student: number;
  teacher: number;
}

/** Maps student layers onto teacher layers for one feature. */
export interface LayerMapping {
  readonly name: string;
  pairs(teacherLayers: number, studentLayers: number, feature: Feature): LayerPair[];
}

/** Everything a loss sees for one batch. */
export interface LossContext {
  teacher: ModelOutputs;
  student: ModelOutputs;
  batch: Batch;
  teacherInfo: ModelInfo;
  studentInfo: ModelInfo;
  step: number;
}

/** What one loss computed: its weighted total and its unweighted parts. */
export interface LossResult {
  total: tf.Scalar;
  terms: Record<string, tf.Scalar>;
}

/** A distillation objective; the stage multiplies `total` by the loss's weight. */
export interface DistillationLoss {
  readonly name: string;
  readonly teacherFeatures: ReadonlySet<Feature>;
  readonly studentFeatures: ReadonlySet<Feature>;
  /** Learnable parts (e.g. TinyBERT projections), trained with the student. */
  readonly variables: tf.Variable[];
  compute(ctx: LossContext): LossResult;
  /** Frees the loss's own tensors; the Distiller calls it when a stage that created the loss ends. */
  dispose?(): void;
}

/** A source of batches the Distiller indexes into; examples are addressed by index. */
export interface BatchSource {
  /** Number of examples. */
  readonly size: number;
  /** Builds the batch of the given example indices; the caller disposes it. */
  batch(indices: readonly number[]): Batch;
  /**
   * Optional: the batches of one training epoch as lists of example indices (e.g. length
   * buckets). Must be deterministic for (epoch, seed) and give the same number of batches every
   * epoch. Without it the Distiller shuffles all indices by seed and cuts batches of `batchSize`.
   */
  epochBatches?(epoch: number, seed: number, batchSize: number): number[][];
  /** Optional: the most tokens a row of a batch can have (a stage sizes its memory estimate by it; without it, by its first batch). */
  readonly maxLength?: number;
}
