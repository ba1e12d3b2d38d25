import type { DistillationLoss, Feature, LayerMapping, ModelInfo, Student, Teacher } from './types.js';
import type { Callback } from './callbacks.js';
import type { StageConfig } from './stage.js';
import type { Logger } from './logger.js';
import type { LoadedFolder } from './model-folder.js';
import { ConfigError } from './schema/config-error.js';
import { parseOptions, toJsonSchema, type JsonSchema, type OptionsInput, type OptionsOutput, type OptionsSchema } from './schema/options.js';

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
  /**
   * Reads a folder its models were saved or exported to (for `distillery inspect`, `eval` and
   * `export`): undefined when the folder is not one of its own, so that another plugin may read it; a
   * DistilleryError when it is its own but cannot be read.
   */
  load?(dir: string, env: ModelEnv): Promise<LoadedFolder | undefined>;
}

interface PluginBase<K extends PluginKind, O> {
  readonly kind: K;
  /** The name configs refer to, e.g. 'hinton'. */
  readonly name: string;
  /**
   * The options' schema (zod 4 or any Standard Schema): create() gets what it returns (defaults filled
   * in), a bad or unknown key is refused with its path, and the pipeline file's JSON Schema comes from it.
   * Without one, options are handed over unchecked.
   */
  readonly options?: OptionsSchema<O>;
  /** The options' JSON Schema, for schemas that cannot give one (non-zod). @default from `options`, else {} */
  readonly jsonSchema?: JsonSchema;
}

/** A distillation objective factory. */
export interface LossPlugin<O = Record<string, unknown>> extends PluginBase<'loss', O> {
  create(options: O, env: PluginEnv): DistillationLoss;
}
/** A layer mapping factory. */
export interface MappingPlugin<O = Record<string, unknown>> extends PluginBase<'mapping', O> {
  create(options: O): LayerMapping;
}
/** Builds (or loads) a frozen teacher. */
export interface TeacherPlugin<O = Record<string, unknown>> extends PluginBase<'teacher', O>, ModelPluginMethods<O> {
  create(options: O, env: ModelEnv): Teacher | Promise<Teacher>;
}
/** Builds (or loads) a trainable student. */
export interface StudentPlugin<O = Record<string, unknown>> extends PluginBase<'student', O>, ModelPluginMethods<O> {
  create(options: O, env: ModelEnv): Student | Promise<Student>;
}
/** Builds a training callback. */
export interface CallbackPlugin<O = Record<string, unknown>> extends PluginBase<'callback', O> {
  create(options: O): Callback;
}
/** Expands into one or more pipeline stages (e.g. a teacher-assistant chain). */
export interface StagePlugin<O = Record<string, unknown>> extends PluginBase<'stage', O> {
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

type ByKind<O> = {
  loss: LossPlugin<O>; mapping: MappingPlugin<O>; teacher: TeacherPlugin<O>;
  student: StudentPlugin<O>; callback: CallbackPlugin<O>; stage: StagePlugin<O>;
};
type Rest<F> = F extends (options: any, ...rest: infer R) => any ? R : never;
type Returned<F> = F extends (...args: any[]) => infer R ? R : never;

/** A model plugin's describe() and resize() with a schema: they receive the schema's output, as create() does. */
type SchemaModelMethods<K extends PluginKind, S extends OptionsSchema> = K extends 'teacher' | 'student' ? {
  /** What create(options) would build, from validated options (defaults filled in). */
  describe?(options: OptionsOutput<S>, env: DescribeEnv): ModelDescription | undefined;
  /** Options for a model like the one validated `options` describe, with these sizes. */
  resize?(options: OptionsOutput<S>, shape: ModelShape, env: DescribeEnv): OptionsInput<S>;
} : unknown;

/** A plugin definition with a schema: create() (and a model plugin's describe() and resize()) receive the schema's output. */
export type SchemaDefinition<K extends PluginKind, S extends OptionsSchema> =
  Omit<ByKind<OptionsInput<S>>[K], 'kind' | 'options' | 'create' | 'describe' | 'resize'> & SchemaModelMethods<K, S> & {
    /** The options' schema. */
    options: S;
    /** Builds the plugin's product from validated options (defaults filled in). */
    create(options: OptionsOutput<S>, ...rest: Rest<ByKind<unknown>[K]['create']>): Returned<ByKind<unknown>[K]['create']>;
  };
/** A plugin definition without a schema (options unchecked). */
export type PlainDefinition<K extends PluginKind, O> = Omit<ByKind<O>[K], 'kind' | 'options'> & { options?: undefined };

/** A plugin defined with a schema: its options type is the schema's input; `options` is the schema itself. */
export type DefinedPlugin<K extends PluginKind, S extends OptionsSchema> = ByKind<OptionsInput<S>>[K] & { readonly options: S };

/** A plugin's options error, pointing (DistilleryError.option) at the first bad option, as plugins' own option errors do. */
function locate(error: unknown, where: string): unknown {
  if (!(error instanceof ConfigError) || !error.issues[0]?.keys || error.option) return error;
  const option = error.issues[0].keys.filter((k): k is string | number => typeof k !== 'symbol');
  return new ConfigError(error.issues, { subject: where, option });
}

function define(kind: PluginKind, def: { name: string; options?: OptionsSchema; create: (...args: any[]) => unknown }): any {
  const schema = def.options;
  if (!schema) return { kind, ...def };
  const where = `${def.name} options`;
  const what = `option for ${kind} plugin '${def.name}'`;
  // Methods taking options first (create, and a model plugin's describe and resize) validate whoever calls them
  // (the Distiller, the CLI, a test), so they always get defaults filled in. An async one (a model
  // loading files) rejects on a bad option, as it would on a failed build.
  const parsing = (method: (...args: any[]) => unknown) => {
    const async = method.constructor?.name === 'AsyncFunction';
    return (options: unknown, ...rest: unknown[]) => {
      let parsed: unknown;
      try {
        parsed = parseOptions(schema, options ?? {}, where, what);
      } catch (error) {
        const located = locate(error, where);
        if (async) return Promise.reject(located);
        throw located;
      }
      return method(parsed, ...rest);
    };
  };
  const parsed: Record<string, unknown> = { create: parsing(def.create) };
  for (const name of ['describe', 'resize'] as const) {
    const method = (def as { [name]?: unknown })[name];
    if (typeof method === 'function') parsed[name] = parsing(method as (...args: any[]) => unknown);
  }
  return { kind, ...def, ...parsed };
}

/** Defines a loss plugin: `defineLossPlugin({ name, options: z.strictObject({...}), create(options, env) })`. */
export function defineLossPlugin<S extends OptionsSchema>(def: SchemaDefinition<'loss', S>): DefinedPlugin<'loss', S>;
export function defineLossPlugin<O = Record<string, unknown>>(def: PlainDefinition<'loss', O>): LossPlugin<O>;
export function defineLossPlugin(def: any): any { return define('loss', def); }

/** Defines a layer-mapping plugin. */
export function defineMappingPlugin<S extends OptionsSchema>(def: SchemaDefinition<'mapping', S>): DefinedPlugin<'mapping', S>;
export function defineMappingPlugin<O = Record<string, unknown>>(def: PlainDefinition<'mapping', O>): MappingPlugin<O>;
export function defineMappingPlugin(def: any): any { return define('mapping', def); }

/** Defines a teacher plugin. */
export function defineTeacherPlugin<S extends OptionsSchema>(def: SchemaDefinition<'teacher', S>): DefinedPlugin<'teacher', S>;
export function defineTeacherPlugin<O = Record<string, unknown>>(def: PlainDefinition<'teacher', O>): TeacherPlugin<O>;
export function defineTeacherPlugin(def: any): any { return define('teacher', def); }

/** Defines a student plugin. */
export function defineStudentPlugin<S extends OptionsSchema>(def: SchemaDefinition<'student', S>): DefinedPlugin<'student', S>;
export function defineStudentPlugin<O = Record<string, unknown>>(def: PlainDefinition<'student', O>): StudentPlugin<O>;
export function defineStudentPlugin(def: any): any { return define('student', def); }

/** Defines a callback plugin. */
export function defineCallbackPlugin<S extends OptionsSchema>(def: SchemaDefinition<'callback', S>): DefinedPlugin<'callback', S>;
export function defineCallbackPlugin<O = Record<string, unknown>>(def: PlainDefinition<'callback', O>): CallbackPlugin<O>;
export function defineCallbackPlugin(def: any): any { return define('callback', def); }

/** Defines a stage plugin. */
export function defineStagePlugin<S extends OptionsSchema>(def: SchemaDefinition<'stage', S>): DefinedPlugin<'stage', S>;
export function defineStagePlugin<O = Record<string, unknown>>(def: PlainDefinition<'stage', O>): StagePlugin<O>;
export function defineStagePlugin(def: any): any { return define('stage', def); }

/** The JSON Schema of a plugin's options: its `jsonSchema`, else its schema's, else {} (anything). */
export function pluginJsonSchema(plugin: Pick<Plugin, 'options' | 'jsonSchema'>): JsonSchema {
  return plugin.jsonSchema ?? toJsonSchema(plugin.options);
}
