import type {
  DescribeEnv, ModelDescription, ModelRef, ModelShape, Plugin, PluginRef, Student, StudentPlugin, Teacher, TeacherPlugin,
} from '@distillery/core';

/** A model like one end of the chain: the plugin reference that builds one, and the env its plugin describes it in. */
export interface ModelLike extends PluginRef {
  /** What its plugin's describe() needs besides the options (the teacher its sizes come from). @default {} */
  env?: DescribeEnv;
}

/** What the chain knows of one end without building it. */
export interface ChainEnd {
  /** Told by the model object, or by its plugin's describe(). */
  description?: ModelDescription;
  /** The reference it was described from (assistants are built like the teacher's). */
  like?: ModelLike & { env: DescribeEnv };
  /** Why there is no description, for errors. */
  unknown?: string;
}

/** A teacher or student plugin. */
export type ModelPlugin = TeacherPlugin<any> | StudentPlugin<any>;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The model plugin of this kind and name among `plugins`. */
export function findPlugin(plugins: readonly Plugin[], kind: 'teacher' | 'student', name: string): ModelPlugin | undefined {
  return plugins.find((p): p is ModelPlugin => p.kind === kind && p.name === name);
}

/**
 * What can be known of one end: a model object tells its `info` and `emits`; a plugin reference (or
 * `as`, standing for a `{ stage }`, a factory or an object) is described by its plugin among
 * `plugins` (of the end's kind, else the other). `teacher`: the chain teacher's description, for a
 * student whose sizes come from it.
 */
export function describeEnd(ref: ModelRef<Teacher> | ModelRef<Student>, as: ModelLike | undefined, kind: 'teacher' | 'student',
  plugins: readonly Plugin[], teacher?: ModelDescription): ChainEnd {
  const env: DescribeEnv = teacher ? { teacher } : {};
  if (as !== undefined) return describeLike({ ...as, env: as.env ?? env }, kind, plugins);
  if (isObject(ref) && typeof (ref as unknown as Teacher).forward === 'function') {
    const model = ref as unknown as Teacher;
    return { description: { info: model.info, emits: model.emits } };
  }
  const { use, options } = (isObject(ref) ? ref : {}) as Partial<PluginRef>;
  if (typeof use === 'string') return describeLike({ use, options, env }, kind, plugins);
  return { unknown: `its reference is ${typeof ref === 'function' ? 'a factory' : 'a { stage }'}` };
}

function describeLike(like: ModelLike & { env: DescribeEnv }, kind: 'teacher' | 'student', plugins: readonly Plugin[]): ChainEnd {
  const plugin = findPlugin(plugins, kind, like.use) ?? findPlugin(plugins, kind === 'teacher' ? 'student' : 'teacher', like.use);
  if (!plugin) return { like, unknown: `its plugin '${like.use}' is not among 'plugins'` };
  if (!plugin.describe) return { like, unknown: `its plugin '${like.use}' has no describe()` };
  const description = plugin.describe(like.options ?? {}, like.env);
  return description ? { description, like } : { like, unknown: `its plugin '${like.use}' cannot tell it before the stage runs` };
}

/** The sizes of a described model (heads only when it has attention). */
export function shapeOf(d: ModelDescription): ModelShape {
  const { numLayers, hiddenSize, numHeads, intermediateSize } = d.info;
  return { numLayers, hiddenSize, ...(numHeads ? { numHeads } : {}), ...(intermediateSize ? { intermediateSize } : {}) };
}
