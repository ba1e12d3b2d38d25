import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describeValue, DistilleryError, type LoadedFolder, type ModelEnv } from '@distillery/core';
import { BERT_HF_FOLDER, TFJS_FOLDER } from '../folder-formats.js';
import { loadBertFromHf } from './hf-checkpoint.js';
import { BERT_TFJS_FORMAT, loadBertFromTfjs } from './tfjs-model.js';

// The BERT TF.js format of distillery 0.1's CLI, replaced by this package's own (BERT_TFJS_FORMAT).
const OLD_BERT_TFJS_FORMAT = 'distillery/bert';

const readJson = async (file: string): Promise<any> => {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (cause) {
    throw new DistilleryError(`cannot read ${file}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
};

/**
 * Reads a BERT folder: a TensorFlow.js one in format 'distillery-bert' (model.json + config.json), or
 * a Hugging Face one (config.json whose model_type is 'bert' or absent). Undefined for any other folder.
 */
export async function loadBertFolder(dir: string, env: Pick<ModelEnv, 'logger'>): Promise<LoadedFolder | undefined> {
  if (!existsSync(path.join(dir, 'config.json'))) return undefined;
  const modelJson = path.join(dir, 'model.json');
  if (existsSync(modelJson)) {
    const format = (await readJson(modelJson))?.format;
    if (format === BERT_TFJS_FORMAT) return { model: await loadBertFromTfjs(dir), format: TFJS_FOLDER };
    if (format === OLD_BERT_TFJS_FORMAT) {
      throw new DistilleryError(`${modelJson} has format '${OLD_BERT_TFJS_FORMAT}' (a TensorFlow.js export by ` +
        `an earlier distillery), which is no longer read; export the model again from its Hugging Face folder or checkpoint ` +
        `(distillery export <model> --format tfjs writes format '${BERT_TFJS_FORMAT}')`, 'checkpoint');
    }
    return undefined;
  }
  const configFile = path.join(dir, 'config.json');
  const config = await readJson(configFile);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new DistilleryError(`${configFile}: expected an object (a model config), got ${describeValue(config)}`, 'checkpoint');
  }
  const type = config.model_type;
  if (type !== undefined && type !== 'bert') return undefined;
  return { model: await loadBertFromHf(dir, { logger: env.logger }), format: BERT_HF_FOLDER };
}
