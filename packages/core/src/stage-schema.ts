import * as z from 'zod';
import { describeValue } from './schema/issues.js';
import { parseOptions } from './schema/options.js';
import type { LossSpec, StageConfig, TeacherCacheHook } from './stage.js';

// The plain settings of a stage (numbers, names, choices), one schema for code and for pipeline files:
// core checks a StageConfig with it when a pipeline starts, the CLI's file schema is built from it, and
// the types OptimizerConfig, EvaluationConfig, CheckpointConfig and StageSettings are inferred from it.

/** Metrics that can pick the best checkpoint: 'loss' is the validation loss. */
export const metricSchema = z.enum(['accuracy', 'f1', 'mcc', 'mse', 'loss']);

/** Optimizer (AdamW), schedule and clipping of a stage. */
export const optimizerSchema = z.strictObject({
  /** Peak learning rate. @default 5e-5 */
  learningRate: z.number().gt(0).optional().meta({ description: 'Peak learning rate. Default 5e-5.' }),
  /** Decoupled weight decay (rank >= 2 variables). @default 0.01 */
  weightDecay: z.number().min(0).optional().meta({ description: 'Decoupled weight decay (AdamW). Default 0.01.' }),
  /** First-moment decay, in [0, 1): 1 would divide by zero in the bias correction. @default 0.9 */
  beta1: z.number().min(0).lt(1).optional().meta({ description: 'AdamW beta1, in [0, 1). Default 0.9.' }),
  /** Second-moment decay, in [0, 1). @default 0.999 */
  beta2: z.number().min(0).lt(1).optional().meta({ description: 'AdamW beta2, in [0, 1). Default 0.999.' }),
  /** @default 1e-8 */
  epsilon: z.number().gt(0).optional().meta({ description: 'AdamW epsilon. Default 1e-8.' }),
  /** Clip gradients to this global L2 norm; 0 turns clipping off. @default 1 */
  clipNorm: z.number().min(0).optional().meta({ description: 'Clip gradients to this global L2 norm; 0 turns clipping off. Default 1.' }),
  /** @default 'linear' */
  schedule: z.enum(['linear', 'constant']).optional().meta({ description: "Learning-rate schedule after warm-up. Default 'linear'." }),
  /** @default 0 */
  warmupSteps: z.int().min(0).optional().meta({ description: 'Warm-up steps (takes precedence over warmupRatio). Default 0.' }),
  /** Used when warmupSteps is not given. @default 0 */
  warmupRatio: z.number().min(0).max(1).optional().meta({ description: 'Warm-up as a fraction of all steps. Default 0.' }),
});

/** When and how a stage evaluates on its validation data. */
export const evaluationSchema = z.strictObject({
  /**
   * 'accuracy' ('mse' for a one-output head); 'loss' (lower is better) when no loss reads the
   * student's logits, since the head is then not trained. @default 'accuracy'
   */
  metric: metricSchema.optional().meta({
    description: "Metric that picks the best checkpoint ('loss': the validation loss, lower is better). Default 'accuracy' " +
      "('mse' for a one-output head; 'loss' when no loss reads the student's logits).",
  }),
  /** Restore the best evaluation's weights when the stage ends. @default true */
  keepBest: z.boolean().optional().meta({ description: "Restore the best evaluation's weights when the stage ends. Default true." }),
  /** @default the training batch size */
  batchSize: z.int().min(1).optional().meta({ description: 'Evaluation batch size. Default: the training batch size.' }),
  /**
   * When to evaluate: at each epoch's end, or after every N steps (and after the last step) instead.
   * With a step count, `last/` is also written at each evaluation, so a long epoch is not lost. @default 'epoch'
   */
  every: z.union([z.int().min(1), z.literal('epoch')]).optional().meta({ description: "Evaluate every N steps, or 'epoch'. Default 'epoch'." }),
});

/** Where a stage writes checkpoints (code: `dir` is required; '' writes none). */
export const checkpointSchema = z.strictObject({
  /** Folder holding `last/` and `best/`. */
  dir: z.string().meta({ description: 'Folder holding last/ and best/.' }),
  /** Also write `last/` every N steps (it is always written after each epoch and on interrupt). */
  everySteps: z.int().min(1).optional().meta({ description: 'Also write last/ every N steps (always after each epoch and on interrupt).' }),
  /** Continue from `dir/last` when it exists. @default false */
  resume: z.boolean().optional().meta({ description: 'Continue from dir/last when it exists. Default false.' }),
});

/** The plain settings of a stage, as code and pipeline files write them. */
export const stageSettingsShape = {
  /** @default 32 */
  batchSize: z.int().min(1).optional().meta({ description: 'Training batch size. Default 32.' }),
  /** @default 1 */
  epochs: z.int().min(1).optional().meta({ description: 'Epochs. Default 1.' }),
  /** Stop after this many steps in all (overrides epochs). */
  maxSteps: z.int().min(1).optional().meta({ description: 'Stop after this many steps in all (overrides epochs).' }),
  optimizer: optimizerSchema.optional(),
  /** Seeds data order, dropout and learnable loss parts. @default 42 */
  seed: z.int().optional().meta({ description: 'Seeds data order, dropout and learnable loss parts. Default 42 (files: the top-level seed).' }),
  evaluation: evaluationSchema.optional(),
  checkpoint: checkpointSchema.optional(),
};

/** The weight of one loss; files and code share it. */
export const lossWeightSchema = z.number().min(0).optional().meta({ description: "Multiplies the loss's total. Default 1." });

/** One entry of a StageConfig's `losses`: the plugin (or ready loss) is checked where it is built. */
export const lossSpecSchema = z.strictObject({
  use: z.custom<LossSpec['use']>(),
  weight: lossWeightSchema,
  options: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Every field of a StageConfig but its name and models, for code that takes stage fields (e.g. the
 * teacher-assistant chain). Objects (mapping, data, callbacks) are typed here and checked where used.
 */
export const stageFieldsShape = {
  losses: z.array(lossSpecSchema).min(1),
  mapping: z.custom<StageConfig['mapping']>().optional(),
  data: z.custom<StageConfig['data']>(),
  callbacks: z.array(z.custom<NonNullable<StageConfig['callbacks']>[number]>()).optional(),
  /** A hook serving the teacher's outputs, or whether a runner may add its own cache (files: a boolean). */
  teacherCache: z.union([z.boolean(), z.custom<TeacherCacheHook>((value) => typeof value === 'function', {
    error: (iss) => `expected true or false or a function, got ${describeValue(iss.input)}`,
  })]).optional(),
  ...stageSettingsShape,
};

// Models are checked where they are resolved; a stage plugin's stages have been through its own schema.
const codeStageSchema = z.strictObject({
  name: z.string().min(1),
  teacher: z.unknown().optional(),
  student: z.unknown().optional(),
  ...stageFieldsShape,
});

/** Optimizer (AdamW), schedule and clipping of a stage. */
export type OptimizerConfig = z.input<typeof optimizerSchema>;
/** Metric that picks the best checkpoint. */
export type MetricName = z.infer<typeof metricSchema>;
/** When and how a stage evaluates. */
export type EvaluationConfig = z.input<typeof evaluationSchema>;
/** Where a stage writes checkpoints. */
export type CheckpointConfig = z.input<typeof checkpointSchema>;
/** The plain settings of a stage (batch size, epochs, optimizer, seed, evaluation, checkpoint). */
export type StageSettings = z.input<z.ZodObject<typeof stageSettingsShape>>;

/**
 * Checks a stage's plain settings before it runs (the same bounds a pipeline file has), failing
 * with the stage name and key path: `stage 'fit' optimizer.beta1: expected a number < 1, got 1`.
 */
export function checkStageSettings(stage: object): void {
  parseOptions(codeStageSchema, stage, `stage '${String((stage as { name?: unknown }).name)}'`);
}
