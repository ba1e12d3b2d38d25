import type { DistillationLoss, Feature, LayerMapping, ModelInfo, Student, Teacher } from './types.js';
import type { Callback } from './callbacks.js';
import type { StageConfig } from './stage.js';
import type { Logger } from './logger.js';

/** The kinds of plugin a Distillery accepts. */
export type PluginKind = 'loss' | 'mapping' | 'teacher' | 'student' | 'callback' | 'stage';

/** What a loss plugin's create() is told about the stage it serves. */
export interface PluginEnv {
  /** The teacher's shape; equals studentInfo when the stage has no teacher. */
  teacherInfo: ModelInfo;
  studentInfo: ModelInfo;
  /** The stage's layer mapping, when the stage names one; losses fall back to their paper's own. */
  mapping?: LayerMapping;
  /** Builds a registered mapping by name (e.g. 'skip'). */
  resolveMapping(name: string, options?: Record<string, unknown>): LayerMapping;
  /** The stage seed, for initialising learnable parts deterministically. */
  seed: number;
  logger: Logger;
}

/** What a model plugin's create() is told. */
export interface ModelEnv {
  /** The stage's teacher, when it has one (e.g. to initialise a student from its layers). */
  teacher?: Teacher;
  seed: number;
  logger: Logger;
}

/**
 * What a model plugin will build, told without building it (no weights are made): enough to check
 * losses, data and chains before anything runs.
 */
export interface ModelDescription {
  info: ModelInfo;
  /** The features the model will emit. */
  emits: ReadonlySet<Feature>;
  /** The model's own resolved config (for 'bert': the Hugging Face config), for reports. */
  config?: Record<string, unknown>;
  /** Its output heads, e.g. ['classification', 'mlm']. */
  heads?: readonly string[];
  /** The longest input sequence it takes (BERT: max_position_embeddings), when bounded. */
  maxLength?: number;
}

/** What a model plugin's describe() and resize() are told. */
export interface DescribeEnv {
  /** The description of the stage's teacher, when known (for a student initialised or sized from it). */
  teacher?: ModelDescription;
}

/** The sizes resize() is asked for. */
export interface ModelShape {
  numLayers: number;
  hiddenSize: number;
  /** @default the plugin's choice (e.g. the model's own, when it divides hiddenSize) */
  numHeads?: number;
  /** @default the plugin's choice */
  intermediateSize?: number;
}

/** What teacher and student plugins may tell about their models before building them. */
interface ModelPluginMethods<O> {
  /**
   * What create(options) would build, without building it; undefined when it cannot be told
   * beforehand (e.g. sizes taken from a teacher that is not described). Option errors are
   * DistilleryErrors whose `option` names the option. A plugin without describe() is checked when
   * its stage runs.
   */
  describe?(options: O, env: DescribeEnv): ModelDescription | undefined;
  /**
   * Options for a model like the one `options` describe, with these sizes and fresh random weights
   * (no checkpoint, nothing copied from a teacher): how teacher-assistant chains build assistants.
   */
  resize?(options: O, shape: ModelShape, env: DescribeEnv): O;
}

interface PluginBase<K extends PluginKind> {
  readonly kind: K;
  /** The name configs refer to, e.g. 'hinton'. */
  readonly name: string;
  /** The option keys create() understands; any other key is rejected with this list. */
  readonly optionKeys?: readonly string[];
}

/** A distillation objective factory. */
export interface LossPlugin<O = Record<string, unknown>> extends PluginBase<'loss'> {
  create(options: O, env: PluginEnv): DistillationLoss;
}
/** A layer mapping factory. */
export interface MappingPlugin<O = Record<string, unknown>> extends PluginBase<'mapping'> {
  create(options: O): LayerMapping;
}
/** Builds (or loads) a frozen teacher. */
export interface TeacherPlugin<O = Record<string, unknown>> extends PluginBase<'teacher'>, ModelPluginMethods<O> {
  create(options: O, env: ModelEnv): Teacher | Promise<Teacher>;
}
/** Builds (or loads) a trainable student. */
export interface StudentPlugin<O = Record<string, unknown>> extends PluginBase<'student'>, ModelPluginMethods<O> {
  create(options: O, env: ModelEnv): Student | Promise<Student>;
}
/** Builds a training callback. */
export interface CallbackPlugin<O = Record<string, unknown>> extends PluginBase<'callback'> {
  create(options: O): Callback;
}
/** Expands into one or more pipeline stages (e.g. a teacher-assistant chain). */
export interface StagePlugin<O = Record<string, unknown>> extends PluginBase<'stage'> {
  create(options: O, env: StageEnv): StageConfig[];
}

/** What a stage plugin's create() is told: the Distillery's registered plugins (e.g. the model plugins a chain builds with). */
export interface StageEnv {
  /** Registered plugins of one kind, in registration order. */
  plugins(kind: 'teacher' | 'student'): readonly (TeacherPlugin<any> | StudentPlugin<any>)[];
  logger: Logger;
}

/** Any plugin. */
export type Plugin =
  | LossPlugin<any> | MappingPlugin<any> | TeacherPlugin<any>
  | StudentPlugin<any> | CallbackPlugin<any> | StagePlugin<any>;

type Definition<P> = Omit<P, 'kind'>;

/** Defines a loss plugin. */
export const defineLossPlugin = <O>(def: Definition<LossPlugin<O>>): LossPlugin<O> => ({ kind: 'loss', ...def });
/** Defines a layer-mapping plugin. */
export const defineMappingPlugin = <O>(def: Definition<MappingPlugin<O>>): MappingPlugin<O> => ({ kind: 'mapping', ...def });
/** Defines a teacher plugin. */
export const defineTeacherPlugin = <O>(def: Definition<TeacherPlugin<O>>): TeacherPlugin<O> => ({ kind: 'teacher', ...def });
/** Defines a student plugin. */
export const defineStudentPlugin = <O>(def: Definition<StudentPlugin<O>>): StudentPlugin<O> => ({ kind: 'student', ...def });
/** Defines a callback plugin. */
export const defineCallbackPlugin = <O>(def: Definition<CallbackPlugin<O>>): CallbackPlugin<O> => ({ kind: 'callback', ...def });
/** Defines a stage plugin. */
export const defineStagePlugin = <O>(def: Definition<StagePlugin<O>>): StagePlugin<O> => ({ kind: 'stage', ...def });
