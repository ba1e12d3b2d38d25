import {
  consoleLogger, DistilleryError, type Logger, type ModelRef, type Plugin, type StageConfig, type Student, type Teacher,
} from '@distillery/core';
import { describeEnd, findPlugin, shapeOf, type ChainEnd, type ModelLike } from './ends.js';
import { planAssistants, type AssistantChoice, type AssistantPlan } from './rule.js';
import type { ModelShape, ResolvedAssistantShape } from './shapes.js';

/** Stage fields shared by every stage of the chain (the chain sets name, teacher and student). */
export type ChainStageFields = Omit<StageConfig, 'name' | 'teacher' | 'student'>;

/** Options of teacherAssistant(): the two ends, the assistant choice, and the stage fields every stage shares. */
export interface TeacherAssistantOptions extends ChainStageFields {
  /** Prefix of the stage names: `<name>-assistant-1`, …, `<name>-student`. @default 'ta' */
  name?: string;
  /** The chain's teacher: a model, `{ stage }`, a plugin reference or a factory. */
  teacher: ModelRef<Teacher>;
  /** The final student. */
  student: ModelRef<Student>;
  /** 'auto' (MiniLM's rule), 'none', or assistant shapes, teacher side first. @default 'auto' */
  assistant?: AssistantChoice;
  /**
   * The model plugins that describe the ends (their describe()) and build the assistants (resize()),
   * usually those registered with the Distillery; the CLI passes its own. @default []
   */
  plugins?: readonly Plugin[];
  /** A model like the teacher, when the teacher is not a plugin reference (a { stage }, a factory, a model object). */
  teacherAs?: ModelLike;
  /** A model like the student, when its sizes cannot be read from `student` (a { stage }, a factory). */
  studentAs?: ModelLike;
  /** Builds assistant i (0-based) of the given shape. @default the teacher's plugin (as a student plugin): its resize() of the teacher's options */
  assistantModel?: (shape: ResolvedAssistantShape, index: number) => ModelRef<Student>;
  /** Options laid over every assistant's (e.g. `{ seed: 7 }`). @default {} */
  assistantOptions?: Record<string, unknown>;
  /** Stage fields that differ for the assistant stages (e.g. more epochs). */
  assistantStage?: Partial<ChainStageFields>;
  /** Stage fields that differ for the final student stage (e.g. other losses). */
  studentStage?: Partial<ChainStageFields>;
  /** Told which chain was chosen. @default consoleLogger */
  logger?: Logger;
}

/** The stages of a chain, with what was decided. */
export type TeacherAssistantChain = StageConfig[] & {
  /** The assistants and the reason for them. */
  plan: AssistantPlan;
  /** The line that was logged: the choice, the rule's numbers and the stage names. */
  description: string;
};

const CHAIN_KEYS = [
  'name', 'teacher', 'student', 'assistant', 'plugins', 'teacherAs', 'studentAs', 'assistantModel', 'assistantOptions',
  'assistantStage', 'studentStage', 'logger',
] as const;
const STAGE_KEYS = [
  'losses', 'mapping', 'data', 'batchSize', 'epochs', 'maxSteps', 'optimizer', 'seed', 'evaluation', 'checkpoint', 'callbacks',
  'teacherCache',
] as const;

/** Every option key teacherAssistant() understands. */
export const TEACHER_ASSISTANT_OPTION_KEYS: readonly string[] = [...CHAIN_KEYS, ...STAGE_KEYS];

const fail = (message: string) => new DistilleryError(`teacher-assistant: ${message}`, 'config');

/**
 * Teacher-assistant knowledge distillation (TAKD, Mirzadeh et al. 2020, "Improved Knowledge
 * Distillation via Teacher Assistant"): a chain of stages teacher → assistant(s) → student, each
 * stage's best student becoming the next stage's frozen teacher (`{ stage: name }` references, so
 * the weights handed on are the trained ones). `assistant: 'auto'` applies MiniLM's rule (see
 * planAssistants) and logs which chain it chose.
 *
 * The chain knows its ends through their model plugins (`plugins`): describe() gives their sizes,
 * and assistants are built, by default, with the student plugin named like the teacher's, from the
 * options its resize() gives for the assistant's sizes (random weights seeded by the stage seed);
 * `assistantModel` builds them any other way.
 */
export function teacherAssistant(options: TeacherAssistantOptions): TeacherAssistantChain {
  if (typeof options !== 'object' || options === null) throw fail(`options must be an object, got ${JSON.stringify(options)}`);
  const unknown = Object.keys(options).filter((k) => !TEACHER_ASSISTANT_OPTION_KEYS.includes(k));
  if (unknown.length) throw fail(`unknown option '${unknown[0]}'; known options: ${TEACHER_ASSISTANT_OPTION_KEYS.join(', ')}`);
  const {
    name = 'ta', teacher, student, assistant = 'auto', plugins = [], teacherAs, studentAs, assistantModel, assistantOptions = {},
    assistantStage = {}, studentStage = {}, logger = consoleLogger, ...shared
  } = options;
  if (typeof name !== 'string' || name === '') throw fail(`option 'name' must be a non-empty string, got ${JSON.stringify(name)}`);
  if (teacher === undefined) throw fail(`option 'teacher' is required`);
  if (student === undefined) throw fail(`option 'student' is required`);
  if (!Array.isArray(plugins)) throw fail(`option 'plugins' must be a list of model plugins, got ${JSON.stringify(plugins)}`);
  for (const [key, like] of [['teacherAs', teacherAs], ['studentAs', studentAs]] as const) {
    if (like !== undefined && (typeof like !== 'object' || like === null || typeof like.use !== 'string')) {
      throw fail(`option '${key}' must be a plugin reference { use, options }, got ${JSON.stringify(like)}`);
    }
  }

  const teacherEnd = describeEnd(teacher, teacherAs, 'teacher', plugins);
  const studentEnd = describeEnd(student, studentAs, 'student', plugins, teacherEnd.description);
  if (assistant !== 'auto' && assistant !== 'none' && !Array.isArray(assistant)) {
    throw fail(`option 'assistant' must be 'auto', 'none' or a list of shapes, got ${JSON.stringify(assistant)}`);
  }
  // 'none' and an empty list need no sizes: the ends may then be anything (a { stage }, a factory).
  const needsShapes = assistant === 'auto' || (Array.isArray(assistant) && assistant.length > 0);
  const teacherShape = shapeOrFail(teacherEnd, 'teacher', needsShapes);
  const studentShape = shapeOrFail(studentEnd, 'student', needsShapes);
  const plan: AssistantPlan = teacherShape && studentShape
    ? planAssistants(teacherShape, studentShape, assistant)
    : { assistants: [], mode: assistant === 'none' ? 'none' : 'explicit', description: `no assistant (assistant: ${
      assistant === 'none' ? "'none'" : 'an empty list'}): teacher → student` };

  const build = assistantModel ?? ((shape: ResolvedAssistantShape, i: number): ModelRef<Student> => {
    const like = teacherEnd.like;
    if (!like) {
      throw fail(`assistant ${i + 1} is built like the teacher, which is not a plugin reference; pass 'teacherAs' ` +
        `(a plugin reference to a model like it) or 'assistantModel'`);
    }
    const plugin = findPlugin(plugins, 'student', like.use);
    if (!plugin?.resize) {
      throw fail(`assistant ${i + 1} is built with the student plugin '${like.use}' (the teacher's), which ` +
        `${plugin ? 'has no resize()' : "is not among 'plugins'"}; pass 'assistantModel'`);
    }
    return { use: like.use, options: { ...plugin.resize(like.options ?? {}, shape, like.env), ...assistantOptions } };
  });

  const names = [...plan.assistants.map((_, i) => `${name}-assistant-${i + 1}`), `${name}-student`];
  const stages: StageConfig[] = names.map((stageName, i) => {
    const last = i === names.length - 1;
    const fields: ChainStageFields = { ...shared, ...(last ? studentStage : assistantStage) } as ChainStageFields;
    const stage: StageConfig = {
      ...fields,
      name: stageName,
      teacher: i === 0 ? teacher : { stage: names[i - 1] },
      student: last ? student : build(plan.assistants[i], i),
    };
    // Each stage keeps its own checkpoints under the chain's folder.
    if (fields.checkpoint?.dir) stage.checkpoint = { ...fields.checkpoint, dir: `${fields.checkpoint.dir.replace(/[\\/]+$/, '')}/${stageName}` };
    return stage;
  });
  const description = `teacher-assistant '${name}': ${plan.description}; stages: ${names.join(', ')}`;
  logger.info(description);
  return Object.assign(stages, { plan, description });
}

function shapeOrFail(end: ChainEnd, role: 'teacher' | 'student', needed: boolean): ModelShape | undefined {
  if (!end.description && needed) {
    throw fail(`the ${role}'s shape cannot be read: ${end.unknown}; pass '${role}As' (a plugin reference to a model like it, ` +
      `whose plugin can describe it)`);
  }
  return end.description && shapeOf(end.description);
}
