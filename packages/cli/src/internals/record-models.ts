import {
  checkOptionKeys, type Distillery, type ModelEnv, type PluginRef, type StageConfig, type Student, type Teacher,
} from '@distillery/core';

/** The models a stage ran with, as core resolved them. */
export interface StageModels {
  teacher?: Teacher;
  student?: Student;
}

const isModel = (x: unknown): x is Teacher =>
  typeof x === 'object' && x !== null && typeof (x as Teacher).forward === 'function';

/** `{ stage: 'name' }`: an earlier stage's student. */
export const isStageRef = (x: unknown): x is { stage: string } =>
  typeof x === 'object' && x !== null && !isModel(x) && typeof (x as { stage?: unknown }).stage === 'string';

const isPluginRef = (x: unknown): x is PluginRef =>
  typeof x === 'object' && x !== null && !isModel(x) && typeof (x as PluginRef).use === 'string';

/**
 * Wraps each stage's teacher and student references so the models core builds are recorded (core's
 * run() returns students but not teachers, and the CLI needs both to save and measure them when a
 * stage ends). A plugin reference becomes a factory doing what core does (look the plugin up,
 * check its options, create); its toJSON() returns the original reference, so the checkpoint's
 * state.json still names the plugin and its options. `{ stage }` references are left to core and
 * followed here.
 */
export function recordModels(distillery: Distillery, stages: StageConfig[]): {
  stages: StageConfig[];
  student(stage: string): Student | undefined;
  teacher(stage: string): Teacher | undefined;
} {
  const recorded = new Map<string, StageModels>(stages.map((s) => [s.name, {}]));
  const byName = new Map(stages.map((s) => [s.name, s]));
  const wrap = (kind: 'teacher' | 'student', stage: string, ref: unknown): any => {
    const record = (m: Teacher) => { recorded.get(stage)![kind] = m as Student; };
    if (ref === undefined || isStageRef(ref)) return ref;
    if (isModel(ref)) { record(ref); return ref; }
    let create: (env: ModelEnv) => unknown;
    if (typeof ref === 'function') {
      create = ref as (env: ModelEnv) => unknown;
    } else if (isPluginRef(ref)) {
      const { use, options = {} } = ref;
      create = (env) => {
        const plugin = distillery.plugins.get(kind, use);
        checkOptionKeys(plugin, options, `stage '${stage}' ${kind}`);
        return plugin.create(options as never, env);
      };
    } else {
      return ref; // core reports what is wrong with it
    }
    const factory = async (env: ModelEnv) => {
      const model = await create(env);
      if (isModel(model)) record(model);
      return model;
    };
    return Object.assign(factory, { toJSON: () => (typeof ref === 'function' ? undefined : ref) });
  };
  const student = (name: string, seen = new Set<string>()): Student | undefined => {
    const own = recorded.get(name)?.student;
    if (own || seen.has(name)) return own;
    seen.add(name);
    const ref = byName.get(name)?.student;
    return isStageRef(ref) ? student(ref.stage, seen) : undefined;
  };
  return {
    stages: stages.map((s) => ({ ...s, teacher: wrap('teacher', s.name, s.teacher), student: wrap('student', s.name, s.student) })),
    student: (name) => student(name),
    teacher: (name) => {
      const ref = byName.get(name)?.teacher;
      return isStageRef(ref) ? student(ref.stage) : recorded.get(name)?.teacher;
    },
  };
}
