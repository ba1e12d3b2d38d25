// A third-party model plugin, as a user's module would define it: the CLI knows nothing of it, yet
// `distillery inspect/eval --plugin <this file>` read the folders its models save.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineStudentPlugin, type FolderFormat } from '@distillery/core';
import { MlpClassifier } from '@distillery/core/testing';

/** How the plugin describes its folders (inspect prints it). */
export const TINY_MLP_FOLDER: FolderFormat = { id: 'tiny-mlp', description: 'tiny MLP folder (config.json + model.safetensors)' };

/** A bag-of-embeddings MLP student; its folders are MlpClassifier.save()'s (config.json model_type 'distillery-mlp'). */
export const tinyMlp = defineStudentPlugin<{ vocabSize: number; numLabels: number; width?: number; seed?: number }>({
  name: 'tiny-mlp',
  create: ({ vocabSize, numLabels, width = 8, seed }, env) => new MlpClassifier({
    vocabSize, numLabels, embeddingSize: width, hiddenSizes: [width], seed: seed ?? env.seed,
  }),
  async load(dir) {
    const config = path.join(dir, 'config.json');
    if (!existsSync(config) || JSON.parse(readFileSync(config, 'utf8')).model_type !== 'distillery-mlp') return undefined;
    return { model: await MlpClassifier.load(dir), format: TINY_MLP_FOLDER };
  },
});
