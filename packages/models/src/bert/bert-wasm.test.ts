import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_FEATURES, disposeBatch, selectBackend, silentLogger } from '@distillery/core';
import type { Feature } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { flat, refBert } from './bert-reference.test.util.js';
import { IDS, MASK, MLM_LABELS, TINY, TYPES, expectClose, makeBatch, paramsOf, randomize } from './bert-fixtures.test.util.js';

// The bundled WebAssembly backend must run the model too (DESIGN: every test passes on the bundled backends).
beforeAll(async () => { await selectBackend('wasm', silentLogger); });

describe('BertModel on the wasm backend', () => {
  it('matches the float64 reference on every feature and trains without leaking', () => {
    expect(tf.getBackend()).toBe('wasm');
    const model = new BertModel(TINY, { heads: ['classification', 'mlm'] });
    randomize(model, 3);
    const batch = makeBatch();
    const out = model.forward(batch, new Set<Feature>(ALL_FEATURES));
    const ref = refBert(paramsOf(model), model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES, mlmLabels: MLM_LABELS });
    for (const f of ALL_FEATURES) {
      const value = out[f]!;
      const list = Array.isArray(value) ? value : [value];
      const refList = Array.isArray(value) ? ref[f] as unknown[] : [ref[f]];
      list.forEach((t, i) => expectClose(t.dataSync(), flat(refList[i]), `wasm ${f}[${i}]`));
    }
    tf.dispose(out as tf.TensorContainer);

    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const o = model.forward(batch, new Set(['logits', 'mlmLogits']), { training: true, seed: 1 });
        return tf.add(tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels!, 3), o.logits!), tf.mean(o.mlmLogits!)) as tf.Scalar;
      }), model.trainableVariables);
      expect(Object.keys(grads)).toHaveLength(model.trainableVariables.length);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    model.dispose();
  });
});
