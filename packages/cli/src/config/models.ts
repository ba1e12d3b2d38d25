import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '@distillery/core';
import { resolveBertConfig, type BertConfig, type BertConfigInput } from '@distillery/models';
import { ConfigError, fromPluginError, joinPath } from './errors.js';
import { isObject } from './internals/zod-issues.js';

/** What can be known about a model before it is built: enough to check losses, data and chains. */
export interface ModelFacts {
  info?: ModelInfo;
  /** The resolved BERT config (BERT models only). */
  bertConfig?: BertConfig;
  /** Output heads (BERT models only). */
  heads?: string[];
}

const headsOf = (architectures: unknown): string[] | undefined => {
  if (!Array.isArray(architectures) || architectures.length === 0) return undefined;
  const heads = new Set<string>();
  for (const a of architectures) {
    if (a === 'BertForSequenceClassification') heads.add('classification');
    if (a === 'BertForMaskedLM' || a === 'BertForPreTraining') heads.add('mlm');
  }
  return [...heads];
};

function bertInfo(config: BertConfig, heads: string[]): ModelInfo {
  return {
    numLayers: config.num_hidden_layers, hiddenSize: config.hidden_size, numHeads: config.num_attention_heads,
    vocabSize: config.vocab_size, ...(heads.includes('classification') ? { numLabels: config.num_labels } : {}),
  };
}

/**
 * The facts of a model built by plugin `type` with `options`, without building it. Known for the
 * bundled 'bert' (from its config, its checkpoint's config.json, or its teacher for initFromTeacher)
 * and 'bilstm' plugins; other plugins tell nothing and are only checked when the stage runs.
 * Problems with the BERT config are ConfigErrors under `at` (the model definition's path).
 */
export function modelFacts(type: string, options: Record<string, unknown>, teacher: ModelFacts | undefined, at: string): ModelFacts {
  if (type === 'bilstm') {
    const vocabSize = (options.vocabSize as number | undefined) ?? teacher?.info?.vocabSize;
    const numLabels = (options.numLabels as number | undefined) ?? teacher?.info?.numLabels;
    const units = (options.units as number | undefined) ?? 150;
    return { info: { numLayers: 1, hiddenSize: 2 * units, numHeads: 0, vocabSize, numLabels } };
  }
  if (type !== 'bert') return {};
  const overrides = options.config === undefined ? {} : options.config;
  if (!isObject(overrides)) {
    throw new ConfigError({ path: joinPath(at, 'config'), value: overrides, message: `expected a BERT config object` });
  }
  const resolve = (input: BertConfigInput, lenient: boolean) => {
    try {
      return resolveBertConfig(input, { lenient });
    } catch (error) {
      throw fromPluginError(error, joinPath(at, 'config'), overrides);
    }
  };
  let config: BertConfig;
  let heads = Array.isArray(options.heads) ? options.heads as string[] : undefined;
  if (typeof options.checkpoint === 'string') {
    const file = path.join(options.checkpoint, 'config.json');
    if (!existsSync(file)) {
      throw new ConfigError({ path: joinPath(at, 'checkpoint'), value: options.checkpoint,
        message: `no config.json in ${options.checkpoint} (expected a Hugging Face model folder)` });
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new ConfigError({ path: joinPath(at, 'checkpoint'), value: options.checkpoint,
        message: `${file} is not valid JSON: ${(cause as Error).message}` }, { cause });
    }
    // A new num_labels replaces the checkpoint's label names, as loadBertFromHf does.
    if (overrides.num_labels !== undefined && overrides.id2label === undefined) delete json.id2label;
    resolve(overrides, false);
    config = resolve({ ...json, ...overrides } as BertConfigInput, true);
    heads ??= headsOf(json.architectures);
  } else if (options.initFromTeacher !== undefined) {
    const from = options.initFromTeacher as { layers?: unknown };
    if (!teacher?.bertConfig) {
      // The plugin itself says so when the stage runs; a non-BERT or unknown teacher tells nothing here.
      return {};
    }
    const layers = Array.isArray(from?.layers) ? from.layers : [];
    layers.forEach((layer, k) => {
      if (!Number.isInteger(layer) || layer < 0 || layer >= teacher.bertConfig!.num_hidden_layers) {
        throw new ConfigError({ path: joinPath(at, 'initFromTeacher', 'layers', k), value: layer,
          message: `expected a teacher layer index in 0..${teacher.bertConfig!.num_hidden_layers - 1} (the teacher has ` +
            `${teacher.bertConfig!.num_hidden_layers} layers), got ${JSON.stringify(layer)}` });
      }
    });
    const base: Record<string, unknown> = { ...teacher.bertConfig };
    if (overrides.num_labels !== undefined && overrides.id2label === undefined) delete base.id2label;
    resolve(overrides, false);
    config = resolve({ ...base, ...overrides, num_hidden_layers: Math.max(1, layers.length) } as BertConfigInput, true);
    heads ??= teacher.heads;
  } else {
    config = resolve(overrides as BertConfigInput, false);
    heads ??= headsOf((overrides as BertConfigInput).architectures);
  }
  heads ??= ['classification'];
  return { info: bertInfo(config, heads), bertConfig: config, heads };
}
