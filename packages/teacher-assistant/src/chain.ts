import {
  consoleLogger, DistilleryError, parseOptions, type ModelRef, type StageConfig, type Student,
} from '@distillery/core';
import { teacherAssistantOptions, type TeacherAssistantOptions } from './options.js';
import { planAssistants, type AssistantPlan } from './rule.js';
import {
  readFacts, shapeOfConfig, type BertConfigLike, type ModelFacts, type ModelShape, type ResolvedAssistantShape,
} from './shapes.js';

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
 * Assistants are built, by default, with the 'bert' student plugin of @distillery/models (register
 * it) from the teacher's config with the assistant's sizes, random weights seeded by the stage
 * seed; `assistantModel` builds them any other way.
 */
export function teacherAssistant(options: TeacherAssistantOptions): TeacherAssistantChain {
  const {
    name, teacher, student, assistant, teacherConfig, studentConfig, assistantModel, assistantOptions = {},
    assistantStage = {}, studentStage = {}, logger = consoleLogger, ...shared
  } = parseOptions(teacherAssistantOptions, options, 'teacher-assistant options', "option for stage plugin 'teacher-assistant'");

  const teacherFacts = facts(readFacts(teacher), teacherConfig, 'teacher');
  const studentFacts = facts(readFacts(student), studentConfig, 'student');
  // 'none' and an empty list need no sizes: the ends may then be anything (a { stage }, a factory).
  const needsShapes = assistant === 'auto' || (Array.isArray(assistant) && assistant.length > 0);
  const teacherShape = shapeOrFail(teacherFacts, 'teacher', needsShapes);
  const studentShape = shapeOrFail(studentFacts, 'student', needsShapes);
  const plan: AssistantPlan = teacherShape && studentShape
    ? planAssistants(teacherShape, studentShape, assistant)
    : { assistants: [], mode: assistant === 'none' ? 'none' : 'explicit', description: `no assistant (assistant: ${
      assistant === 'none' ? "'none'" : 'an empty list'}): teacher → student` };

  const build = assistantModel ?? ((shape: ResolvedAssistantShape, i: number): ModelRef<Student> => {
    if (!teacherFacts.config) {
      throw fail(`assistant ${i + 1} is built from the teacher's BERT config, which cannot be read from the teacher ` +
        `reference; pass 'teacherConfig' (or 'assistantModel')`);
    }
    const heads = teacherFacts.heads ? { heads: [...teacherFacts.heads] } : {};
    return { use: 'bert', options: { config: { ...teacherFacts.config, ...shape }, ...heads, ...assistantOptions } };
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

function facts(read: ModelFacts, given: BertConfigLike | undefined, role: 'teacher' | 'student'): ModelFacts {
  if (given === undefined) return read;
  if (typeof given !== 'object' || given === null) {
    throw fail(`option '${role}Config' must be a BERT config object, got ${JSON.stringify(given)}`);
  }
  return { ...read, shape: shapeOfConfig(given), config: given };
}

function shapeOrFail(f: ModelFacts, role: 'teacher' | 'student', needed: boolean): ModelShape | undefined {
  if (!f.shape && needed) {
    throw fail(`the ${role}'s shape cannot be read from its reference (a { stage }, a checkpoint, a factory or ` +
      `another plugin); pass '${role}Config' (its BERT config, or at least num_hidden_layers and hidden_size)`);
  }
  return f.shape;
}

