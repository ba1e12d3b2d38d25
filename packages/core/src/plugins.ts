import type { DistillationLoss, LayerMapping, ModelInfo, Student, Teacher } from './types.js';
import type { Callback } from './callbacks.js';
import type { StageConfig } from './stage.js';
import type { Logger } from './logger.js';
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
export interface TeacherPlugin<O = Record<string, unknown>> extends PluginBase<'teacher', O> {
  create(options: O, env: ModelEnv): Teacher | Promise<Teacher>;
}
/** Builds (or loads) a trainable student. */
export interface StudentPlugin<O = Record<string, unknown>> extends PluginBase<'student', O> {
  create(options: O, env: ModelEnv): Student | Promise<Student>;
}
/** Builds a training callback. */
export interface CallbackPlugin<O = Record<string, unknown>> extends PluginBase<'callback', O> {
  create(options: O): Callback;
}
/** Expands into one or more pipeline stages (e.g. a teacher-assistant chain). */
export interface StagePlugin<O = Record<string, unknown>> extends PluginBase<'stage', O> {
  create(options: O): StageConfig[];
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

/** A plugin definition with a schema: create() receives the schema's output. */
export type SchemaDefinition<K extends PluginKind, S extends OptionsSchema> =
  Omit<ByKind<OptionsInput<S>>[K], 'kind' | 'options' | 'create'> & {
    /** The options' schema. */
    options: S;
    /** Builds the plugin's product from validated options (defaults filled in). */
    create(options: OptionsOutput<S>, ...rest: Rest<ByKind<unknown>[K]['create']>): Returned<ByKind<unknown>[K]['create']>;
  };
/** A plugin definition without a schema (options unchecked). */
export type PlainDefinition<K extends PluginKind, O> = Omit<ByKind<O>[K], 'kind' | 'options'> & { options?: undefined };

/** A plugin defined with a schema: its options type is the schema's input; `options` is the schema itself. */
export type DefinedPlugin<K extends PluginKind, S extends OptionsSchema> = ByKind<OptionsInput<S>>[K] & { readonly options: S };

function define(kind: PluginKind, def: { name: string; options?: OptionsSchema; create: (...args: any[]) => unknown }): any {
  const schema = def.options;
  if (!schema) return { kind, ...def };
  const where = `${def.name} options`;
  const what = `option for ${kind} plugin '${def.name}'`;
  // Methods taking options first (create, and a model plugin's describe) validate whoever calls them
  // (the Distiller, the CLI, a test), so they always get defaults filled in. An async one (a model
  // loading files) rejects on a bad option, as it would on a failed build.
  const parsing = (method: (...args: any[]) => unknown) => {
    const async = method.constructor?.name === 'AsyncFunction';
    return (options: unknown, ...rest: unknown[]) => {
      let parsed: unknown;
      try {
        parsed = parseOptions(schema, options ?? {}, where, what);
      } catch (error) {
        if (async) return Promise.reject(error);
        throw error;
      }
      return method(parsed, ...rest);
    };
  };
  const describe = (def as { describe?: unknown }).describe;
  return {
    kind, ...def, create: parsing(def.create),
    ...(typeof describe === 'function' ? { describe: parsing(describe as (...args: any[]) => unknown) } : {}),
  };
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
