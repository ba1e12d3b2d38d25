import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  describeValue, DistilleryError, optionError, type DescribeEnv, type Feature, type ModelDescription, type ModelInfo, type ModelShape,
} from '@distillery/core';
import { headsFromArchitectures, resolveBertConfig, type BertConfig, type BertConfigInput, type BertHead } from './config.js';
import type { BertStudentOptions } from './plugins.js';

const WHO = 'bert';
const ENCODER_FEATURES: readonly Feature[] = ['hidden', 'attentionScores', 'attentionProbs', 'queries', 'keys', 'values'];
// The BERT behind each description made here: a student initialised from its teacher needs a BERT
// teacher (as create() does), and resize() starts from the resolved config.
const described = new WeakMap<ModelDescription, { config: BertConfig; heads: readonly BertHead[] }>();

/** The info of a BERT model of this config and these heads (labels only with a classification head). */
export function bertInfo(config: BertConfig, heads: readonly BertHead[]): ModelInfo {
  return {
    numLayers: config.num_hidden_layers, hiddenSize: config.hidden_size, numHeads: config.num_attention_heads,
    vocabSize: config.vocab_size, ...(heads.includes('classification') ? { numLabels: config.num_labels } : {}),
    intermediateSize: config.intermediate_size,
  };
}

/** The features a BERT model with these heads emits: the encoder's, plus logits / mlmLogits and mlmMaskedLogits per head. */
export function bertEmits(heads: readonly BertHead[]): Set<Feature> {
  return new Set<Feature>([
    ...(heads.includes('classification') ? ['logits' as const] : []),
    ...(heads.includes('mlm') ? ['mlmLogits' as const, 'mlmMaskedLogits' as const] : []),
    ...ENCODER_FEATURES,
  ]);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Resolves a config; its errors are about option 'config' (their own option names are keys inside it). */
function resolve(input: BertConfigInput, lenient: boolean): BertConfig {
  try {
    return resolveBertConfig(input, { lenient });
  } catch (error) {
    const e = error as DistilleryError;
    throw new DistilleryError(e.message, e.code ?? 'config', { cause: error, option: ['config'] });
  }
}

function readConfigJson(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) {
    throw optionError(WHO, ['checkpoint'], `no config.json in ${dir} (expected a Hugging Face model folder)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw optionError(WHO, ['checkpoint'], `${file} is not valid JSON: ${(cause as Error).message}`, cause);
  }
  if (!isObject(json)) throw optionError(WHO, ['checkpoint'], `${file} holds ${describeValue(json)}, expected a BERT config object`);
  return json;
}

/**
 * The 'bert' plugins' describe(): the config (from `config`, a checkpoint's config.json with `config`
 * over it, or the stage teacher's config for `initFromTeacher`), the heads (given, else the
 * checkpoint's or config's `architectures`, else the teacher's or ['classification']), and what follows
 * from them. Undefined for `initFromTeacher` when the teacher is not a described BERT (create() says
 * why when the stage runs).
 */
export function describeBert(options: BertStudentOptions, env: DescribeEnv): ModelDescription | undefined {
  return describeResolved(options, env)?.description;
}

function describeResolved(options: BertStudentOptions, env: DescribeEnv) {
  const { config: given, checkpoint, initFromTeacher: from } = options ?? {};
  const overrides = given === undefined ? {} : given;
  if (!isObject(overrides)) throw optionError(WHO, ['config'], 'expected a BERT config object');
  let config: BertConfig;
  let heads: readonly BertHead[] | undefined = Array.isArray(options.heads) ? options.heads : undefined;
  if (typeof checkpoint === 'string') {
    const json = readConfigJson(checkpoint);
    // A new num_labels replaces the checkpoint's label names, as loadBertFromHf does.
    if (overrides.num_labels !== undefined && overrides.id2label === undefined) delete json.id2label;
    resolve(overrides, false);
    config = resolve({ ...json, ...overrides } as BertConfigInput, true);
    heads ??= headsFromArchitectures(json.architectures as string[] | undefined);
  } else if (from !== undefined) {
    const teacher = env?.teacher && described.get(env.teacher);
    if (!teacher) return undefined;
    const depth = teacher.config.num_hidden_layers;
    const layers: unknown[] = Array.isArray(from?.layers) ? from.layers : [];
    layers.forEach((layer, k) => {
      if (!Number.isInteger(layer) || (layer as number) < 0 || (layer as number) >= depth) {
        throw optionError(WHO, ['initFromTeacher', 'layers', k], `expected a teacher layer index in 0..${depth - 1} ` +
          `(the teacher has ${depth} layers), got ${JSON.stringify(layer)}`);
      }
    });
    const base: Record<string, unknown> = { ...teacher.config };
    if (overrides.num_labels !== undefined && overrides.id2label === undefined) delete base.id2label;
    resolve(overrides, false);
    config = resolve({ ...base, ...overrides, num_hidden_layers: Math.max(1, layers.length) } as BertConfigInput, true);
    heads ??= teacher.heads;
  } else {
    config = resolve(overrides, false);
    heads ??= headsFromArchitectures(overrides.architectures);
  }
  const h = heads ?? ['classification'];
  const description: ModelDescription = {
    info: bertInfo(config, h), emits: bertEmits(h), config: { ...config }, heads: h,
    maxLength: config.max_position_embeddings,
  };
  described.set(description, { config, heads: h });
  return { description, config, heads: h };
}

/**
 * The 'bert' plugins' resize(): a BERT like the described one with these sizes and random weights.
 * Options with a plain `config` keep it, with the sizes over it; a checkpoint or a teacher copy
 * becomes its resolved config (and heads). Seeds are left to the stage.
 */
export function resizeBert(options: BertStudentOptions, shape: ModelShape, env: DescribeEnv): BertStudentOptions {
  const sizes: Partial<BertConfig> = {
    num_hidden_layers: shape.numLayers, hidden_size: shape.hiddenSize,
    ...(shape.numHeads === undefined ? {} : { num_attention_heads: shape.numHeads }),
    ...(shape.intermediateSize === undefined ? {} : { intermediate_size: shape.intermediateSize }),
  };
  const { config = {}, checkpoint, initFromTeacher: from, heads } = options ?? {};
  if (checkpoint === undefined && from === undefined) {
    if (!isObject(config)) throw optionError(WHO, ['config'], 'expected a BERT config object');
    return { config: { ...config, ...sizes }, ...(heads ? { heads: [...heads] } : {}) };
  }
  const known = describeResolved(options, env);
  if (!known) {
    throw optionError(WHO, ['initFromTeacher'], 'cannot size a model like this one: its config is the stage teacher\'s, ' +
      'which is not known before the stage runs');
  }
  return { config: { ...known.config, ...sizes }, heads: [...known.heads] };
}
