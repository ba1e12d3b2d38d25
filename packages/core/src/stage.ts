import type { Callback } from './callbacks.js';
import type { LossPlugin, ModelEnv } from './plugins.js';
import type { StageSettings } from './stage-schema.js';
import type { BatchSource, DistillationLoss, Feature, LayerMapping, Student, Teacher } from './types.js';

export type { CheckpointConfig, EvaluationConfig, MetricName, OptimizerConfig, StageSettings } from './stage-schema.js';

/** A registered plugin by name, with its options. */
export interface PluginRef {
  use: string;
  options?: Record<string, unknown>;
}

/** Where a stage's model comes from: the object itself, an earlier stage's student, a plugin, or a factory. */
export type ModelRef<M> = M | { stage: string } | PluginRef | ((env: ModelEnv) => M | Promise<M>);

/** One loss of a stage and its weight. */
export interface LossSpec<O = Record<string, unknown>> {
  /** A registered loss plugin's name, a plugin object, or a ready loss. */
  use: string | LossPlugin<any> | DistillationLoss;
  /** Multiplies the loss's total. @default 1 */
  weight?: number;
  /** Passed to the plugin's create(). */
  options?: O;
}

/** A loss spec whose options are typed by the plugin's schema: `lossSpec(hinton, { temperature: 4 })`. */
export function lossSpec<O>(plugin: LossPlugin<O>, options?: O, weight?: number): LossSpec<O> {
  return { use: plugin, ...(options === undefined ? {} : { options }), ...(weight === undefined ? {} : { weight }) };
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

/** One stage of a pipeline: a teacher teaches a student through weighted losses. Plain settings: see StageSettings. */
export interface StageConfig extends StageSettings {
  /** Unique within a pipeline; later stages refer to it. */
  name: string;
  /** Omitted for plain supervised training (e.g. fine-tuning a teacher). */
  teacher?: ModelRef<Teacher>;
  student: ModelRef<Student>;
  losses: LossSpec[];
  /** The layer mapping handed to the losses; each loss falls back to its paper's own. */
  mapping?: string | LayerMapping | PluginRef;
  data: { train: BatchSource; validation?: BatchSource };
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
