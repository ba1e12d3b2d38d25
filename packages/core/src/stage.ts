import type { Callback } from './callbacks.js';
import type { LossPlugin, ModelEnv } from './plugins.js';
import type { StageSettings } from './stage-schema.js';
import type { BatchSource, DistillationLoss, LayerMapping, Student, Teacher } from './types.js';

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
}

/** A stage whose models have been built; what a stage's child container holds. */
export interface ResolvedStage {
  config: StageConfig;
  teacher?: Teacher;
  student: Student;
}
