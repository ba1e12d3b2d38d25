import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { assignWeights, DistilleryError, type LoadedFolder } from '@distillery/core';
import { BiLstmClassifier, biLstmConfigOf, BILSTM_MODEL_TYPE, type BiLstmConfig } from './bilstm.js';
import { BILSTM_FOLDER, TFJS_FOLDER } from './folder-formats.js';
import { loadTfjsWeights } from './tfjs-format.js';

/**
 * Reads a BiLSTM folder (config.json with model_type 'distillery-bilstm'): save()'s, or a TensorFlow.js
 * export (model.json beside that config.json). Undefined for any other folder.
 */
export async function loadBiLstmFolder(dir: string): Promise<LoadedFolder | undefined> {
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) return undefined;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await fs.readFile(configFile, 'utf8'));
  } catch (cause) {
    throw new DistilleryError(`cannot read ${configFile}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
  if (config?.model_type !== BILSTM_MODEL_TYPE) return undefined;
  if (!existsSync(path.join(dir, 'model.json'))) return { model: await BiLstmClassifier.load(dir), format: BILSTM_FOLDER };
  const { model_type: _, ...rest } = config;
  return { model: await loadBiLstmFromTfjs(dir, biLstmConfigOf(rest, configFile)), format: TFJS_FOLDER };
}

/** Reads a BiLSTM exported for TensorFlow.js (exportTo('tfjs')): the weights of model.json, the sizes of `config`. */
async function loadBiLstmFromTfjs(dir: string, config: BiLstmConfig): Promise<BiLstmClassifier> {
  const { weights } = await loadTfjsWeights(dir);
  try {
    const model = new BiLstmClassifier(config);
    const named = model.namedWeights();
    const missing = [...named.keys()].filter((k) => !weights.has(k));
    if (missing.length) {
      model.dispose();
      throw new DistilleryError(`${dir}: model.json lacks ${missing.length} weight(s) the config needs: ${missing.slice(0, 5).join(', ')}` +
        `${missing.length > 5 ? ', ...' : ''}`, 'checkpoint');
    }
    try {
      assignWeights([...named].map(([key, variable]) => ({ key, variable })), [...named.keys()].map((k) => {
        const t = weights.get(k)!;
        return { shape: [...t.shape], data: t.dataSync() as Float32Array };
      }), dir);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return model;
  } finally {
    tf.dispose([...weights.values()]);
  }
}
