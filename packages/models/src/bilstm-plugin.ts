import { defineStudentPlugin, DistilleryError } from '@distillery/core';
import { BiLstmClassifier, type BiLstmConfig } from './bilstm.js';
import { describeBiLstm } from './bilstm-describe.js';

/** Options of the 'bilstm' student plugin: a BiLstmConfig whose sizes may come from the stage's teacher. */
export type BiLstmPluginOptions = Partial<BiLstmConfig>;

const KEYS = ['vocabSize', 'numLabels', 'embeddingSize', 'units', 'denseSize', 'dropout', 'seed'] as const;

/**
 * The 'bilstm' student plugin: builds a fresh BiLstmClassifier. `vocabSize` and `numLabels` default
 * to the stage teacher's (its info), `seed` to the stage seed.
 */
export const bilstm = defineStudentPlugin<BiLstmPluginOptions>({
  name: 'bilstm',
  optionKeys: KEYS,
  describe: describeBiLstm,
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
