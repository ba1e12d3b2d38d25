import type { DescribeEnv, ModelDescription } from '@distillery/core';
import { BILSTM_DEFAULTS, BILSTM_EMITS, checkBiLstmSize } from './bilstm.js';
import type { BiLstmPluginOptions } from './bilstm-plugin.js';

/**
 * The 'bilstm' plugin's describe(): one BiLSTM layer 2·units wide, no attention, logits only;
 * `vocabSize` and `numLabels` are the stage teacher's when not given (unknown without either).
 */
export function describeBiLstm(options: BiLstmPluginOptions, env: DescribeEnv): ModelDescription {
  const vocabSize = options?.vocabSize ?? env?.teacher?.info.vocabSize;
  const numLabels = options?.numLabels ?? env?.teacher?.info.numLabels;
  const d = BILSTM_DEFAULTS;
  const { embeddingSize = d.embeddingSize, units = d.units, denseSize = d.denseSize, dropout = d.dropout } = options ?? {};
  if (vocabSize !== undefined && numLabels !== undefined) checkBiLstmSize('bilstm', { vocabSize, numLabels, embeddingSize, units, denseSize });
  return {
    info: {
      numLayers: 1, hiddenSize: 2 * units, numHeads: 0,
      ...(vocabSize === undefined ? {} : { vocabSize }), ...(numLabels === undefined ? {} : { numLabels }),
    },
    emits: BILSTM_EMITS,
    config: { vocabSize, numLabels, embeddingSize, units, denseSize, dropout },
  };
}
