import {
  consoleLogger, DistilleryError, parseOptions, type ModelRef, type StageConfig, type Student,
} from '@distillery/core';
import { describeEnd, findPlugin, shapeOf, type ChainEnd } from './ends.js';
import { teacherAssistantOptions, type TeacherAssistantOptions } from './options.js';
import { planAssistants, type AssistantPlan } from './rule.js';
import type { ModelShape, ResolvedAssistantShape } from './shapes.js';

/** Stage fields shared by every stage of the chain (the chain sets name, teacher and student). */
export type ChainStageFields = Omit<StageConfig, 'name' | 'teacher' | 'student'>;

export type { TeacherAssistantOptions } from './options.js';

/** The stages of a chain, with what was decided. */
export type TeacherAssistantChain = StageConfig[] & {
  /** The assistants and the reason for them. */
  plan: AssistantPlan;
  /** The line that was logged: the choice, the rule's numbers and the stage names. */
  description: string;
};

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
  const {
    name, teacher, student, assistant, plugins = [], teacherAs, studentAs, assistantModel, assistantOptions = {},
    assistantStage = {}, studentStage = {}, logger = consoleLogger, ...shared
  } = parseOptions(teacherAssistantOptions, options, 'teacher-assistant options', "option for stage plugin 'teacher-assistant'");

  const teacherEnd = describeEnd(teacher, teacherAs, 'teacher', plugins);
  const studentEnd = describeEnd(student, studentAs, 'student', plugins, teacherEnd.description);
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
