import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '@distillery/core';
import { shapeText, writeDirAtomic } from '@distillery/core/kit';
import { loadTfjsWeights, writeTfjsWeights } from '../tfjs-format.js';
import { BertModel } from './bert-model.js';
import { toHfConfigJson } from './config.js';
import type { BertHead } from './config.js';

/** model.json's `format` for a BertModel saved by saveBertToTfjs. */
export const BERT_TFJS_FORMAT = 'distillery-bert';

/**
 * Saves a BertModel for the browser: TensorFlow.js's model.json (format 'distillery-bert', the
 * Hugging Face config and heads as its modelTopology) and weight shards, in this package's layout
 * (linear kernels [in, out]), plus config.json beside them. The folder is replaced atomically.
 */
export async function saveBertToTfjs(model: BertModel, dir: string, options: { shardSizeBytes?: number } = {}): Promise<void> {
  await writeDirAtomic(dir, (tmp) => writeBertTfjs(model, tmp, options));
}

/** Writes what saveBertToTfjs writes into an existing folder, without the atomic replacement (to add files beside it). */
export async function writeBertTfjs(model: BertModel, dir: string, options: { shardSizeBytes?: number } = {}): Promise<void> {
  const config = toHfConfigJson(model.config, model.heads);
  await writeTfjsWeights(dir, model.weights, {
    format: BERT_TFJS_FORMAT, modelTopology: { config, heads: model.heads }, shardSizeBytes: options.shardSizeBytes,
  });
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Loads a folder written by saveBertToTfjs; every weight's name and shape is checked. */
export async function loadBertFromTfjs(dir: string): Promise<BertModel> {
  const { weights, format, modelTopology } = await loadTfjsWeights(dir);
  try {
    const where = path.join(dir, 'model.json');
    if (format !== BERT_TFJS_FORMAT) {
      throw new DistilleryError(`loadBertFromTfjs: ${where} has format ${JSON.stringify(format)}, expected '${BERT_TFJS_FORMAT}'`, 'checkpoint');
    }
    const topology = modelTopology as { config?: Record<string, unknown>; heads?: BertHead[] } | undefined;
    if (!topology?.config || !Array.isArray(topology.heads)) {
      throw new DistilleryError(`loadBertFromTfjs: ${where} lacks modelTopology.config or modelTopology.heads`, 'checkpoint');
    }
    const { architectures: _a, model_type: _m, label2id: _l, ...config } = topology.config;
    const model = new BertModel(config as never, { heads: topology.heads, initialize: false });
    const missing = [...model.weights.keys()].filter((name) => !weights.has(name));
    const unexpected = [...weights.keys()].filter((name) => !model.weights.has(name));
    if (missing.length || unexpected.length) {
      model.dispose();
      throw new DistilleryError(`loadBertFromTfjs: ${where}: ` +
        `${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}` +
        `${unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''}`, 'checkpoint');
    }
    for (const [name, variable] of model.weights) {
      const t = weights.get(name)!;
      if (t.shape.join() !== variable.shape.join()) {
        model.dispose();
        throw new DistilleryError(`loadBertFromTfjs: ${where}: '${name}' has shape ${shapeText(t.shape)}, ` +
          `the model needs ${shapeText(variable.shape)}`, 'checkpoint');
      }
      variable.assign(t);
    }
    return model;
  } finally {
    tf.dispose([...weights.values()]);
  }
}
