import { DistilleryError, defineStudentPlugin, defineTeacherPlugin } from '@distillery/core';
import type { ModelEnv } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { describeBert, resizeBert } from './describe.js';
import type { BertConfigInput, BertHead } from './config.js';
import { loadBertFromHf } from './hf-checkpoint.js';
import { initFromTeacher } from './init-from-teacher.js';

/** Options of the 'bert' teacher plugin: a config (random weights) or a Hugging Face folder. */
export interface BertTeacherOptions {
  /** The config to build; with `checkpoint`, keys that override its config.json. */
  config?: BertConfigInput;
  /** A Hugging Face folder (config.json + model.safetensors). */
  checkpoint?: string;
  /** Output heads. @default the checkpoint's, else from config.architectures, else ['classification'] */
  heads?: BertHead[];
  /** With `checkpoint`: heads to initialise randomly when it lacks them. @default [] */
  initHeads?: BertHead[];
  /** Seeds the weights not read from a checkpoint. @default the stage seed */
  seed?: number;
}

/** Options of the 'bert' student plugin: as the teacher's, or a copy of the stage teacher's layers. */
export interface BertStudentOptions extends BertTeacherOptions {
  /** Copy the stage teacher's embeddings, these layers and its heads (DistilBERT); `config` then holds overrides. */
  initFromTeacher?: { layers: number[] };
}

const TEACHER_KEYS = ['config', 'checkpoint', 'heads', 'initHeads', 'seed'] as const;

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
    const extra = Object.keys(fromTeacher ?? {}).filter((k) => k !== 'layers');
    if (extra.length) {
      throw new DistilleryError(`${who}: unknown option 'initFromTeacher.${extra[0]}'; known options: layers`, 'config');
    }
    return initFromTeacher(teacher, { layers: fromTeacher?.layers as number[], config, heads, seed });
  }
  if (checkpoint !== undefined) {
    if (typeof checkpoint !== 'string') {
      throw new DistilleryError(`${who}: option 'checkpoint' must be a folder path, got ${JSON.stringify(checkpoint)}`, 'config');
    }
    return loadBertFromHf(checkpoint, { config, heads, initHeads, seed, logger: env.logger });
  }
  if (config === undefined) {
    throw new DistilleryError(`${who}: give 'config', 'checkpoint'${who.includes('student') ? " or 'initFromTeacher'" : ''}`,
      'config');
  }
  return new BertModel(config, { heads, seed });
}

/** The 'bert' teacher plugin: `{ use: 'bert', options: { checkpoint: dir } }` (or `{ config }`); returns a frozen view. */
export const bertTeacher = defineTeacherPlugin<BertTeacherOptions>({
  name: 'bert',
  optionKeys: TEACHER_KEYS,
  describe: describeBert, resize: resizeBert,
  async create(options, env) {
    const model = await build(options, env, "teacher plugin 'bert'");
    env.logger.info(`teacher ${model.name}: ${model.parameterCount()} parameters`);
    // The view owns the model it was built for: the pipeline frees it when the stage ends.
    return Object.assign(model.asTeacher(), { dispose: () => model.dispose() });
  },
});

/** The 'bert' student plugin: `{ config }`, `{ checkpoint }` or `{ initFromTeacher: { layers } }` (with the stage teacher). */
export const bertStudent = defineStudentPlugin<BertStudentOptions>({
  name: 'bert',
  optionKeys: [...TEACHER_KEYS, 'initFromTeacher'],
  describe: describeBert, resize: resizeBert,
  async create(options, env) {
    const model = await build(options, env, "student plugin 'bert'");
    env.logger.info(`student ${model.name}: ${model.parameterCount()} parameters`);
    return model;
  },
});
