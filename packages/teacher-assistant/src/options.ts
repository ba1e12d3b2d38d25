import { stageFieldsShape, type Logger, type ModelRef, type Student, type Teacher } from '@distillery/core';
import * as z from 'zod';
import type { BertConfigLike, ResolvedAssistantShape } from './shapes.js';

const modelRef = <M>(role: string) => z.custom<ModelRef<M>>((v) => v !== undefined && v !== null, {
  error: `missing (expected the ${role}: a model, { stage: <name> }, { use, options } or a factory)`,
});
const size = z.int().min(1);

/** One assistant: BERT config sizes over the teacher's config; heads and feed-forward width may be left out. */
export const assistantShapeSchema = z.strictObject({
  num_hidden_layers: size,
  hidden_size: size,
  num_attention_heads: size.optional(),
  intermediate_size: size.optional(),
});

const stageFields = z.strictObject(stageFieldsShape);

/**
 * The options of teacherAssistant() and of the 'teacher-assistant' stage plugin (code form: models
 * and sources are objects; a pipeline file writes names instead, which the CLI resolves).
 */
export const teacherAssistantOptions = z.strictObject({
  /** Prefix of the stage names: `<name>-assistant-1`, …, `<name>-student`. @default 'ta' */
  name: z.string().min(1).default('ta'),
  /** The chain's teacher: a model, `{ stage }`, a plugin reference or a factory. */
  teacher: modelRef<Teacher>('teacher'),
  /** The final student. */
  student: modelRef<Student>('student'),
  /** 'auto' (MiniLM's rule), 'none', or assistant shapes, teacher side first. @default 'auto' */
  assistant: z.union([z.enum(['auto', 'none']), z.array(assistantShapeSchema)]).default('auto'),
  /** The teacher's BERT config, when it cannot be read from `teacher` (a `{ stage }`, a checkpoint, a factory). */
  teacherConfig: z.custom<BertConfigLike>().optional(),
  /** The student's BERT config (or just its sizes), when it cannot be read from `student`. */
  studentConfig: z.custom<BertConfigLike>().optional(),
  /** Builds assistant i (0-based) of the given shape. @default the 'bert' student plugin over the teacher's config */
  assistantModel: z.custom<(shape: ResolvedAssistantShape, index: number) => ModelRef<Student>>(
    (v) => typeof v === 'function', { error: 'expected a function (shape, index) => student' }).optional(),
  /** Extra options of the 'bert' student plugin for every assistant (e.g. `{ seed: 7 }`). @default the teacher's heads */
  assistantOptions: z.record(z.string(), z.unknown()).optional(),
  /** Stage fields that differ for the assistant stages (e.g. more epochs). */
  assistantStage: stageFields.partial().optional(),
  /** Stage fields that differ for the final student stage (e.g. other losses). */
  studentStage: stageFields.partial().optional(),
  /** Told which chain was chosen. @default consoleLogger */
  logger: z.custom<Logger>((v) => typeof (v as Logger)?.info === 'function', { error: 'expected a logger { info, warn }' }).optional(),
  ...stageFieldsShape,
});

/** Options of teacherAssistant(): the two ends, the assistant choice, and the stage fields every stage shares. */
export type TeacherAssistantOptions = z.input<typeof teacherAssistantOptions>;
