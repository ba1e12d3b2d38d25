import type { Callback } from './callbacks.js';
import type { LossPlugin, ModelEnv } from './plugins.js';
import type { BatchSource, DistillationLoss, Feature, LayerMapping, Student, Teacher } from './types.js';

/** A registered plugin by name, with its options. */
export interface PluginRef {
  use: string;
  options?: Record<string, unknown>;
}

/** Where a stage's model comes from: the object itself, an earlier stage's student, a plugin, or a factory. */
export type ModelRef<M> = M | { stage: string } | PluginRef | ((env: ModelEnv) => M | Promise<M>);

/** One loss of a stage and its weight. */
export interface LossSpec {
  /** A registered loss plugin's name, a plugin object, or a ready loss. */
  use: string | LossPlugin<any> | DistillationLoss;
  /** Multiplies the loss's total. @default 1 */
  weight?: number;
  /** Passed to the plugin's create(). */
  options?: Record<string, unknown>;
}

/** What a stage's teacherCache is asked, once, when the stage's first training step is due. */
export interface TeacherCacheRequest {
  /** The stage's name. */
  stage: string;
  /** The live teacher, as resolved for the stage (for a `{ stage }` reference: the earlier stage's trained student, frozen). */
  teacher: Teacher;
  /** The stage's data.train. */
  train: BatchSource;
  /** Every feature the stage's losses read from the teacher (never empty). */
  features: ReadonlySet<Feature>;
}

/** A teacher that answers for the training batches of `train` (e.g. from stored outputs), and that source. */
export interface TeacherCacheServed {
  /** Used by the training steps instead of the live teacher; must emit every requested feature. */
  teacher: Teacher;
  /** Read by the training steps instead of data.train: the same examples (same size), batch by batch. */
  train: BatchSource;
}

/**
 * Serves a stage's training steps the teacher's outputs from elsewhere (a disk cache of its logits:
 * @distillery/data's cachedTeacher returns both parts); undefined keeps the live teacher.
 */
export type TeacherCacheHook = (request: TeacherCacheRequest) =>
  TeacherCacheServed | undefined | Promise<TeacherCacheServed | undefined>;

/** Optimizer (AdamW), schedule and clipping of a stage. */
export interface OptimizerConfig {
  /** Peak learning rate. @default 5e-5 */
  learningRate?: number;
  /** @default 0.01 */
  weightDecay?: number;
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.999 */
  beta2?: number;
  /** @default 1e-8 */
  epsilon?: number;
  /** Clip gradients to this global L2 norm; 0 turns clipping off. @default 1 */
  clipNorm?: number;
  /** @default 'linear' */
  schedule?: 'linear' | 'constant';
  /** @default 0 */
  warmupSteps?: number;
  /** Used when warmupSteps is not given. @default 0 */
  warmupRatio?: number;
}

/** Metric that picks the best checkpoint; 'loss' is the stage's weighted losses on the validation set. */
export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'mse' | 'loss';

/** One stage of a pipeline: a teacher teaches a student through weighted losses. */
export interface StageConfig {
  /** Unique within a pipeline; later stages refer to it. */
  name: string;
  /** Omitted for plain supervised training (e.g. fine-tuning a teacher). */
  teacher?: ModelRef<Teacher>;
  student: ModelRef<Student>;
  losses: LossSpec[];
  /** The layer mapping handed to the losses; each loss falls back to its paper's own. */
  mapping?: string | LayerMapping | PluginRef;
  data: { train: BatchSource; validation?: BatchSource };
  /** @default 32 */
  batchSize?: number;
  /** @default 1 */
  epochs?: number;
  /** Stop after this many steps in all (overrides epochs). */
  maxSteps?: number;
  optimizer?: OptimizerConfig;
  /** Seeds data order, dropout and learnable loss parts. @default 42 */
  seed?: number;
  evaluation?: {
    /**
     * 'accuracy' ('mse' for a one-output head); 'loss' (lower is better) when no loss reads the
     * student's logits, since the head is then not trained. @default 'accuracy'
     */
    metric?: MetricName;
    /**
     * When to evaluate: at each epoch's end, or after every N steps (and after the last step) instead.
     * With a step count, `last/` is also written at each evaluation, so a long epoch is not lost. @default 'epoch'
     */
    every?: number | 'epoch';
    /** Restore the best evaluation's weights when the stage ends. @default true */
    keepBest?: boolean;
    /** @default the training batch size */
    batchSize?: number;
  };
  checkpoint?: {
    /** Folder holding `last/` and `best/`. */
    dir: string;
    /** Also write `last/` every N steps (it is always written after each epoch and on interrupt). */
    everySteps?: number;
    /** Continue from `dir/last` when it exists. @default false */
    resume?: boolean;
  };
  callbacks?: (Callback | PluginRef)[];
  /**
   * Where the training steps read the teacher's outputs. A function is called once, when the first
   * step is due (the teacher of a `{ stage }` reference exists only then; a stage resumed complete
   * trains nothing and does not call it); the teacher and source it returns replace the live ones
   * for the training steps only: the data order, evaluation and validation use the live teacher and
   * data.train. `false`: the live teacher, and runners that add a cache of their own (the CLI) do
   * not. `true` or absent: the live teacher here; such runners may add theirs. @default undefined
   */
  teacherCache?: TeacherCacheHook | boolean;
}

/** A stage whose models have been built; what a stage's child container holds. */
export interface ResolvedStage {
  config: StageConfig;
  teacher?: Teacher;
  student: Student;
}
