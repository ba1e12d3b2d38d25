import { defineStudentPlugin, DistilleryError } from '@distillery/core';
import * as z from 'zod';
import { BiLstmClassifier, biLstmConfigSchema } from './bilstm.js';
import { describeBiLstm } from './bilstm-describe.js';
import { loadBiLstmFolder } from './bilstm-folder.js';

/** Options of the 'bilstm' student plugin: a BiLstmConfig whose sizes and seed may come from the stage. */
export const biLstmPluginOptions = biLstmConfigSchema.extend({
  vocabSize: biLstmConfigSchema.shape.vocabSize.optional().meta({ description: "Vocabulary size. Default: the stage teacher's." }),
  numLabels: biLstmConfigSchema.shape.numLabels.optional().meta({ description: "Outputs of the classifier. Default: the stage teacher's." }),
  seed: z.int().optional().meta({ description: 'Seed of the initial weights. Default: the stage seed.' }),
});

/** Options of the 'bilstm' student plugin (every key optional). */
export type BiLstmPluginOptions = z.input<typeof biLstmPluginOptions>;

/**
 * The 'bilstm' student plugin: builds a fresh BiLstmClassifier. `vocabSize` and `numLabels` default
 * to the stage teacher's (its info), `seed` to the stage seed. load() reads its saved and exported folders.
 */
export const bilstm = defineStudentPlugin({
  name: 'bilstm',
  options: biLstmPluginOptions,
  describe: describeBiLstm,
  /** Reads save()'s folder, or a TensorFlow.js export of one. */
  load: (dir) => loadBiLstmFolder(dir),
  create(options, env) {
    const vocabSize = options.vocabSize ?? env.teacher?.info.vocabSize;
    const numLabels = options.numLabels ?? env.teacher?.info.numLabels;
    for (const [key, value] of Object.entries({ vocabSize, numLabels })) {
      if (value === undefined) {
        throw new DistilleryError(`bilstm: option '${key}' is needed (the stage has no teacher whose info gives it)`, 'config');
      }
    }
    return new BiLstmClassifier({ ...options, vocabSize: vocabSize!, numLabels: numLabels!, seed: options.seed ?? env.seed });
  },
});
