import path from 'node:path';
import { checkpointSchema, lossWeightSchema, stageSettingsShape } from '@distillery/core';
import * as z from 'zod';
import { ConfigError, formatPath, valueAt, type ConfigIssue } from './errors.js';
import { dispatch, errorMap, isObject, toIssues } from './internals/zod-issues.js';
import type {
  AssistantShapeDef, DatasetDef, ModelDef, ModelRefDef, PipelineConfig, PluginRefDef, StageDef, StageFieldsDef, StagePluginDef,
  TeacherAssistantDef,
} from './types.js';

export type * from './types.js';

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

const name = z.string().min(1);
const options = z.record(z.string(), z.unknown());
const pluginRef = z.strictObject({ use: name, options: options.optional() });
const BUNDLED_TOKENIZERS = ['bert-base-uncased'] as const;

const stageRef = z.strictObject({ stage: name });
const modelDef = z.looseObject({ type: name });
const modelRef = dispatch<ModelRefDef>((v) => {
  if (typeof v === 'string') return name;
  if (isObject(v) && 'stage' in v) return stageRef;
  if (isObject(v) && 'type' in v) return modelDef as z.ZodType<ModelDef>;
  return { fail: `expected a model name (a key of 'models'), { stage: <earlier stage> } or { type: <model plugin>, ...options }, ` +
    `got ${JSON.stringify(v) ?? 'nothing'}` };
});

const lossDef = z.strictObject({ use: name, weight: lossWeightSchema, options: options.optional() });
const mapping = dispatch<string | PluginRefDef>((v) => (typeof v === 'string' ? name : pluginRef));
// The stage settings are core's (code and files share their bounds); a file's checkpoint folder may be
// left out: the CLI then writes checkpoints in its run folder.
const checkpoint = checkpointSchema.extend({
  dir: name.optional().meta({ description: 'Folder holding last/ and best/, relative to the file. Default: the run folder.' }),
});
const mlm = z.strictObject({
  probability: z.number().gt(0).max(1).optional(),
  maskFraction: z.number().min(0).max(1).optional(),
  randomFraction: z.number().min(0).max(1).optional(),
  smoothing: z.number().min(0).optional(),
  seed: z.int().optional(),
});
const stageFields = {
  losses: z.array(lossDef).min(1),
  mapping: mapping.optional(),
  data: z.strictObject({ train: name, validation: name.optional() }),
  ...stageSettingsShape,
  checkpoint: checkpoint.optional(),
  callbacks: z.array(pluginRef).optional(),
  mlm: mlm.optional(),
  teacherCache: z.boolean().optional()
    .meta({ description: "Read a logits-only stage's teacher logits from the run folder's cache. Default: the file's teacherCache, else true." }),
};
const partialStageFields = z.strictObject(
  Object.fromEntries(Object.entries(stageFields).map(([k, s]) => [k, s.optional()])) as { [K in keyof typeof stageFields]: z.ZodOptional<(typeof stageFields)[K]> });

const stage = z.strictObject({ name, teacher: modelRef.optional(), student: modelRef, ...stageFields });

const assistantShape = z.strictObject({
  numLayers: z.int().min(1),
  hiddenSize: z.int().min(1),
  numHeads: z.int().min(1).optional(),
  intermediateSize: z.int().min(1).optional(),
});
const assistant = dispatch<'auto' | 'none' | AssistantShapeDef[]>((v) =>
  (Array.isArray(v) ? z.array(assistantShape) : z.enum(['auto', 'none'])));
const teacherAssistant = z.strictObject({
  use: z.literal('teacher-assistant'),
  options: z.strictObject({
    name: name.optional(), teacher: modelRef, student: modelRef, assistant: assistant.optional(),
    assistantOptions: options.optional(),
    assistantStage: partialStageFields.optional(), studentStage: partialStageFields.optional(),
    ...stageFields,
  }),
});

const stageEntry = dispatch<StageDef | StagePluginDef>((v) => {
  if (isObject(v) && 'name' in v) return stage as z.ZodType<StageDef>;
  if (isObject(v) && v.use === 'teacher-assistant') return teacherAssistant as z.ZodType<StagePluginDef>;
  if (isObject(v) && 'use' in v) return pluginRef as z.ZodType<StagePluginDef>;
  return { fail: `expected a stage { name, student, losses, data, ... } or a stage plugin { use, options }, got ` +
    `${JSON.stringify(v) ?? 'nothing'}` };
});

const textFields = {
  tokenizer: name,
  maxLength: z.int().min(2).optional(),
  padding: z.enum(['longest', 'max_length']).optional(),
  limit: z.int().min(1).optional(),
};
const column = z.union([z.string(), z.int().min(0)]);
const keepLabels = z.strictObject({
  fraction: z.number().min(0).max(1).optional(),
  count: z.int().min(0).optional(),
  seed: z.int().optional(),
  stratify: z.boolean().optional(),
  /** 'hide' (default): the other rows stay, label -100 (soft terms use them); 'drop': they are left out. */
  others: z.enum(['hide', 'drop']).optional(),
}).refine((v) => (v.fraction === undefined) !== (v.count === undefined), {
  message: "give 'fraction' (a share of the labelled rows, in [0, 1]) or 'count' (a number of rows), one of the two",
});
/** Keys of the datasets that can be labelled: partial labels, and a limit drawn per class. */
const labelFields = { keepLabels: keepLabels.optional(), stratify: z.boolean().optional() };
const DATASETS: Record<string, z.ZodType> = {
  'spam-assassin': z.strictObject({
    type: z.literal('spam-assassin'), split: z.enum(['train', 'validation', 'test']).optional(),
    labelled: z.boolean().optional(), keepSubject: z.boolean().optional(), ...textFields, ...labelFields,
  }),
  'moby-dick': z.strictObject({
    type: z.literal('moby-dick'), unit: z.enum(['paragraph', 'sentence']).optional(), minLength: z.int().min(0).optional(), ...textFields,
  }),
  synthetic: z.strictObject({
    type: z.literal('synthetic'), numClasses: z.int().min(2), vocabSize: z.int().min(2), seqLength: z.int().min(2),
    size: z.int().min(1), signal: z.number().min(0).max(1).optional(), keywordsPerClass: z.int().min(1).optional(),
    seed: z.int().optional(), taskSeed: z.int().optional(), labelled: z.boolean().optional(), limit: z.int().min(1).optional(),
    ...labelFields,
  }),
};
for (const type of ['jsonl', 'csv', 'tsv'] as const) {
  DATASETS[type] = z.strictObject({
    type: z.literal(type), path: name,
    columns: z.strictObject({ text: column.optional(), textPair: column.nullable().optional(), label: column.nullable().optional() }).optional(),
    task: z.enum(['classification', 'regression']).optional(), labels: z.array(z.string()).min(1).optional(),
    header: z.boolean().optional(), delimiter: z.string().length(1).optional(), onBadRow: z.enum(['fail', 'skip']).optional(),
    labelled: z.boolean().optional(), hiddenLabels: z.boolean().optional(), ...textFields, ...labelFields,
  });
}
const dataset = dispatch<DatasetDef>((v) => {
  if (!isObject(v)) return { fail: `expected a dataset { type, ... }, got ${JSON.stringify(v) ?? 'nothing'}` };
  const schema = DATASETS[v.type as string];
  if (schema) return schema as z.ZodType<DatasetDef>;
  const known = Object.keys(DATASETS).map((k) => JSON.stringify(k)).join(', ');
  return { fail: v.type === undefined ? `missing (expected one of ${known})` : `expected one of ${known}, got ${JSON.stringify(v.type)}`, at: ['type'] };
});

const pipeline = z.strictObject({
  description: z.string().optional(),
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).optional(),
  seed: z.int().optional(),
  plugins: z.array(name).optional(),
  output: name.optional(),
  teacherCache: z.boolean().optional().meta({ description: "Every stage's teacherCache unless the stage gives one. Default true." }),
  models: z.record(z.string(), modelDef).optional(),
  data: z.record(z.string(), dataset).optional(),
  stages: z.array(stageEntry).min(1),
});

/** The keys a pipeline file may have at its top level. */
export const PIPELINE_KEYS: readonly string[] = Object.keys(pipeline.shape);

/**
 * The file schema and its nodes whose JSON Schema depends on the registered plugins or cannot be
 * derived (the dispatching ones): json-schema.ts writes those by hand, the rest comes from zod.
 */
export const FILE_SCHEMA = {
  pipeline, stage, teacherAssistant, stageRef, modelDef, modelRef, lossDef, mapping, callback: pluginRef, stageEntry,
  assistant, assistantShape, dataset, datasets: DATASETS as Readonly<Record<string, z.ZodType>>,
} as const;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** Options of parsePipelineConfig. */
export interface ParseOptions {
  /** Folder that relative paths (plugins, data files, tokenizers, checkpoints, output) are resolved against. @default process.cwd() */
  baseDir?: string;
  /** Named in errors. */
  file?: string;
}

/**
 * Validates a pipeline config (the object read from YAML or JSON) against the schema, checks the
 * names it uses (models, datasets, stages), and resolves relative paths against `baseDir`.
 * Throws a ConfigError listing every problem found, each with its key path. Plugins are not
 * consulted here: buildPipeline() checks plugin names and options.
 */
export function parsePipelineConfig(input: unknown, { baseDir = process.cwd(), file }: ParseOptions = {}): PipelineConfig {
  const result = pipeline.safeParse(input, { error: errorMap, reportInput: true });
  if (!result.success) {
    throw new ConfigError(toIssues(result.error.issues).map((i): ConfigIssue =>
      ({ path: formatPath(i.path), value: valueAt(input, i.path), message: i.message })), { file });
  }
  const raw = result.data;
  const config: PipelineConfig = {
    backend: raw.backend ?? 'auto',
    seed: raw.seed ?? 42,
    plugins: [],
    models: (raw.models ?? {}) as Record<string, ModelDef>,
    data: (raw.data ?? {}) as Record<string, DatasetDef>,
    stages: raw.stages,
    baseDir: path.resolve(baseDir),
    ...(raw.description === undefined ? {} : { description: raw.description }),
    ...(raw.teacherCache === undefined ? {} : { teacherCache: raw.teacherCache }),
  };
  const issues = checkNames(config);
  if (issues.length) throw new ConfigError(issues, { file });
  resolvePaths(config, raw.plugins ?? [], raw.output);
  return config;
}

/** Every model, dataset and stage name used must be defined (stages: earlier, or made by a chain). */
function checkNames(config: PipelineConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const models = Object.keys(config.models);
  const datasets = Object.keys(config.data);
  const list = (names: string[]) => names.length ? names.map((n) => `'${n}'`).join(', ') : '(none defined)';
  const checkModel = (ref: ModelRefDef | undefined, at: string) => {
    if (typeof ref === 'string' && !config.models[ref]) {
      issues.push({ path: at, value: ref, message: `no model named '${ref}' under 'models'; defined: ${list(models)}` });
    }
  };
  const checkData = (data: StageFieldsDef['data'] | undefined, at: string) => {
    if (!data) return;
    for (const key of ['train', 'validation'] as const) {
      const ref = data[key];
      if (ref !== undefined && !config.data[ref]) {
        issues.push({ path: `${at}.data.${key}`, value: ref, message: `no dataset named '${ref}' under 'data'; defined: ${list(datasets)}` });
      }
    }
  };
  const seen = new Map<string, number>();
  config.stages.forEach((entry, i) => {
    const at = `stages[${i}]`;
    if ('name' in entry) {
      const s = entry as StageDef;
      if (seen.has(s.name)) {
        issues.push({ path: `${at}.name`, value: s.name, message: `stages[${seen.get(s.name)}] already has the name '${s.name}'` });
      }
      seen.set(s.name, i);
      checkModel(s.teacher, `${at}.teacher`);
      checkModel(s.student, `${at}.student`);
      checkData(s.data, at);
    } else if (entry.use === 'teacher-assistant') {
      const o = (entry as { options: TeacherAssistantDef }).options;
      checkModel(o.teacher, `${at}.options.teacher`);
      checkModel(o.student, `${at}.options.student`);
      checkData(o.data, `${at}.options`);
      checkData(o.assistantStage?.data, `${at}.options.assistantStage`);
      checkData(o.studentStage?.data, `${at}.options.studentStage`);
    }
  });
  return issues;
}

/** Makes every path in the config absolute (relative ones are relative to baseDir). */
function resolvePaths(config: PipelineConfig, plugins: string[], output: string | undefined): void {
  const abs = (p: string) => path.resolve(config.baseDir, p);
  const isPath = (spec: string) => spec.startsWith('.') || path.isAbsolute(spec);
  config.plugins = plugins.map((p) => (isPath(p) ? abs(p) : p));
  if (output !== undefined) config.output = abs(output);
  // A model option named `checkpoint` is a folder, whatever the model plugin.
  const model = (def: ModelDef) => { if (typeof def.checkpoint === 'string') def.checkpoint = abs(def.checkpoint); };
  const ref = (r: ModelRefDef | undefined) => { if (isObject(r) && 'type' in r) model(r as ModelDef); };
  const fields = (f: Partial<StageFieldsDef> | undefined) => { if (f?.checkpoint?.dir !== undefined) f.checkpoint.dir = abs(f.checkpoint.dir); };
  Object.values(config.models).forEach(model);
  for (const def of Object.values(config.data)) {
    if ('path' in def) def.path = abs(def.path);
    if ('tokenizer' in def && !(BUNDLED_TOKENIZERS as readonly string[]).includes(def.tokenizer)) def.tokenizer = abs(def.tokenizer);
  }
  for (const entry of config.stages) {
    if ('name' in entry) {
      ref(entry.teacher); ref(entry.student); fields(entry);
    } else if (entry.use === 'teacher-assistant') {
      const o = (entry as { options: TeacherAssistantDef }).options;
      ref(o.teacher); ref(o.student); fields(o); fields(o.assistantStage); fields(o.studentStage);
    }
  }
}

/** The tokenizers bundled by name (anything else is a path). */
export const BUNDLED_TOKENIZER_NAMES: readonly string[] = BUNDLED_TOKENIZERS;
