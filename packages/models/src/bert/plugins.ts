import { DistilleryError, defineStudentPlugin, defineTeacherPlugin, describeValue } from '@distillery/core';
import type { ModelEnv } from '@distillery/core';
import * as z from 'zod';
import { BertModel } from './bert-model.js';
import { bertConfigSchema, type BertHead } from './config.js';
import { describeBert, resizeBert } from './describe.js';
import { loadBertFolder } from './folder.js';
import { loadBertFromHf } from './hf-checkpoint.js';
import { initFromTeacher } from './init-from-teacher.js';

const heads = z.array(z.enum(['classification', 'mlm'] as const satisfies readonly BertHead[]));

/** Options of the 'bert' teacher plugin: a config (random weights) or a Hugging Face folder. */
export const bertTeacherOptions = z.strictObject({
  /** The config to build; with `checkpoint`, keys that override its config.json. */
  config: bertConfigSchema.optional(),
  /** A Hugging Face folder (config.json + model.safetensors). */
  checkpoint: z.string({ error: (iss) => `expected a folder path, got ${describeValue(iss.input)}` }).min(1).optional()
    .meta({ description: 'A Hugging Face model folder (config.json + model.safetensors).' }),
  /** Output heads. @default the checkpoint's, else from config.architectures, else ['classification'] */
  heads: heads.optional().meta({ description: "Output heads. Default: the checkpoint's, else from config.architectures, else ['classification']." }),
  /** With `checkpoint`: heads to initialise randomly when it lacks them. @default [] */
  initHeads: heads.optional().meta({ description: 'With checkpoint: heads to initialise randomly when it lacks them.' }),
  /** Seeds the weights not read from a checkpoint. @default the stage seed */
  seed: z.int().optional().meta({ description: 'Seeds the weights not read from a checkpoint. Default: the stage seed.' }),
});

/** Options of the 'bert' student plugin: as the teacher's, or a copy of the stage teacher's layers. */
export const bertStudentOptions = bertTeacherOptions.extend({
  /** Copy the stage teacher's embeddings, these layers and its heads (DistilBERT); `config` then holds overrides. */
  initFromTeacher: z.strictObject({
    layers: z.array(z.int().min(0)).min(1).meta({ description: 'Teacher layer indices (0-based) to copy, in order.' }),
  }).optional().meta({ description: "Copy the stage teacher's embeddings, these layers and its heads (DistilBERT)." }),
});

/** Options of the 'bert' teacher plugin. */
export type BertTeacherOptions = z.input<typeof bertTeacherOptions>;
/** Options of the 'bert' student plugin. */
export type BertStudentOptions = z.input<typeof bertStudentOptions>;

async function build(options: BertStudentOptions, env: ModelEnv, who: string): Promise<BertModel> {
  const { config, checkpoint, heads, initHeads, seed = env.seed, initFromTeacher: fromTeacher } = options ?? {};
  const sources = [checkpoint !== undefined && 'checkpoint', fromTeacher !== undefined && 'initFromTeacher'].filter(Boolean);
  if (sources.length > 1) {
    throw new DistilleryError(`${who}: give either 'checkpoint' or 'initFromTeacher', not both`, 'config');
  }
  if (fromTeacher !== undefined) {
    const teacher = BertModel.unwrap(env.teacher);
    if (!teacher) {
      throw new DistilleryError(
        `${who}: 'initFromTeacher' needs a BERT teacher in the stage, but the stage's teacher is ` +
        `${env.teacher ? env.teacher.name : 'missing'}`, 'config');
    }
    return initFromTeacher(teacher, { layers: fromTeacher?.layers as number[], config, heads, seed });
  }
  if (checkpoint !== undefined) {
    return loadBertFromHf(checkpoint, { config, heads, initHeads, seed, logger: env.logger });
  }
  if (config === undefined) {
    throw new DistilleryError(`${who}: give 'config', 'checkpoint'${who.includes('student') ? " or 'initFromTeacher'" : ''}`,
      'config');
  }
  return new BertModel(config, { heads, seed });
}

/** The 'bert' teacher plugin: `{ use: 'bert', options: { checkpoint: dir } }` (or `{ config }`); returns a frozen view. */
export const bertTeacher = defineTeacherPlugin({
  name: 'bert',
  options: bertTeacherOptions,
  describe: describeBert, resize: resizeBert,
  async create(options, env) {
    const model = await build(options, env, "teacher plugin 'bert'");
    env.logger.info(`teacher ${model.name}: ${model.parameterCount()} parameters`);
    // The view owns the model it was built for: the pipeline frees it when the stage ends.
    return Object.assign(model.asTeacher(), { dispose: () => model.dispose() });
  },
});

/**
 * The 'bert' student plugin: `{ config }`, `{ checkpoint }` or `{ initFromTeacher: { layers } }` (with the stage
 * teacher). load() reads Hugging Face BERT folders and this package's TensorFlow.js ones.
 */
export const bertStudent = defineStudentPlugin({
  name: 'bert',
  options: bertStudentOptions,
  describe: describeBert, resize: resizeBert,
  load: loadBertFolder,
  async create(options, env) {
    const model = await build(options, env, "student plugin 'bert'");
    // Without a stage teacher the model is trained on labels (e.g. the teacher's own fine-tuning), not taught.
    env.logger.info(`${env.teacher ? 'student' : 'model'} ${model.name}: ${model.parameterCount().toLocaleString('en-US')} parameters`);
    return model;
  },
});
