import {
  stageFieldsShape, type DescribeEnv, type Logger, type ModelRef, type Plugin, type Student, type Teacher,
} from '@distillery/core';
import * as z from 'zod';
import type { ModelLike } from './ends.js';
import type { ResolvedAssistantShape } from './shapes.js';

const modelRef = <M>(role: string) => z.custom<ModelRef<M>>((v) => v !== undefined && v !== null, {
  error: `missing (expected the ${role}: a model, { stage: <name> }, { use, options } or a factory)`,
});
const size = z.int().min(1);

/** One assistant's sizes; heads and the feed-forward width may be left out (the chain fills them in). */
export const assistantShapeSchema = z.strictObject({
  numLayers: size,
  hiddenSize: size,
  numHeads: size.optional(),
  intermediateSize: size.optional(),
});

const isPlugin = (v: unknown): v is Plugin =>
  typeof v === 'object' && v !== null && typeof (v as Plugin).kind === 'string' && typeof (v as Plugin).name === 'string';

// A plugin reference to a model like one end; `env` (kept as given: its teacher description is the plugin's own) is what describe() is told.
const modelLike = z.strictObject({
  use: z.string().min(1),
  options: z.record(z.string(), z.unknown()).optional(),
  env: z.custom<DescribeEnv>((v) => typeof v === 'object' && v !== null, { error: 'expected a describe env { teacher? }' }).optional(),
}) satisfies z.ZodType<ModelLike>;

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
  /**
   * The model plugins that describe the ends (their describe()) and build the assistants (resize()),
   * usually those registered with the Distillery (the stage plugin's default); the CLI passes its own. @default []
   */
  plugins: z.array(z.custom<Plugin>(isPlugin, { error: 'expected a model plugin { kind, name, create }' })).optional(),
  /** A model like the teacher, when the teacher is not a plugin reference (a { stage }, a factory, a model object). */
  teacherAs: modelLike.optional(),
  /** A model like the student, when its sizes cannot be read from `student` (a { stage }, a factory). */
  studentAs: modelLike.optional(),
  /** Builds assistant i (0-based) of the given shape. @default the teacher's plugin (as a student plugin): its resize() of the teacher's options */
  assistantModel: z.custom<(shape: ResolvedAssistantShape, index: number) => ModelRef<Student>>(
    (v) => typeof v === 'function', { error: 'expected a function (shape, index) => student' }).optional(),
  /** Options laid over every assistant's (e.g. `{ seed: 7 }`). @default {} */
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
