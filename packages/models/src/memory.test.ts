// The models' memory estimates (BertModel.estimateMemory, BiLstmClassifier.estimateMemory) against
// the peak tf.profile measures for the same forward (and, training, its gradients) on the CPU backend:
// a stage refuses a step by the estimate, so it must not fall below the real peak, nor be far above it.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSE_ABOVE, selectBackend, silentLogger, WASM_HEAP_BYTES, type Batch, type Feature, type StepShape } from '@distillery/core';
import { BertModel } from './bert/bert-model.js';
import { BiLstmClassifier } from './bilstm.js';

beforeAll(async () => {
  await selectBackend('cpu', { logger: silentLogger });
});

function batchOf(B: number, S: number, V: number): Batch {
  const ids = Array.from({ length: B * S }, (_, i) => (i * 7 + 3) % V);
  return {
    inputIds: tf.tensor2d(ids, [B, S], 'int32'),
    attentionMask: tf.ones([B, S], 'int32') as tf.Tensor2D,
    labels: tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32'),
    // A fifth of the tokens masked, as the estimate assumes for mlmMaskedLogits.
    mlmLabels: tf.tensor2d(ids.map((id, i) => (i % 5 === 0 ? id : -100)), [B, S], 'int32'),
  };
}

interface Estimating {
  forward(batch: Batch, features: ReadonlySet<Feature>, options?: { training?: boolean; seed?: number }): Record<string, tf.Tensor | tf.Tensor[] | undefined>;
  estimateMemory(shape: StepShape): { bytes: number; detail: string };
  trainableVariables: tf.Variable[];
}

/** Peak bytes above what was allocated before: one forward, or one forward and backward (every weight's gradient). */
async function measuredPeak(model: Estimating, batch: Batch, features: ReadonlySet<Feature>, training: boolean): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    if (!training) {
      tf.dispose(Object.values(model.forward(batch, features)) as tf.TensorContainer);
      return;
    }
    const { value, grads } = tf.variableGrads(() => {
      const out = Object.values(model.forward(batch, features, { training: true, seed: 1 })).flat() as tf.Tensor[];
      // A loss over every output, through a log-softmax as the losses take them.
      return tf.addN(out.map((t) => tf.mean(tf.logSoftmax(tf.reshape(t, [-1, t.shape[t.shape.length - 1]]))))) as tf.Scalar;
    }, model.trainableVariables);
    value.dispose();
    tf.dispose(grads);
  });
  expect(tf.memory().numBytes).toBe(before);
  return info.peakBytes - before;
}

const BERT_CASES: { name: string; config: Record<string, number>; B: number; S: number; features: Feature[] }[] = [
  { name: '2×32, logits', config: { hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 500 }, B: 8, S: 32, features: ['logits'] },
  { name: '2×32, attention maps and hidden states', config: { hidden_size: 32, intermediate_size: 128, num_attention_heads: 2, num_hidden_layers: 2, vocab_size: 500 }, B: 8, S: 64, features: ['logits', 'hidden', 'attentionScores'] },
  { name: '3×32, masked-LM head at every token', config: { hidden_size: 32, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 3, vocab_size: 2000 }, B: 4, S: 64, features: ['mlmLogits'] },
  { name: '3×32, masked-LM head at the masked tokens', config: { hidden_size: 32, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 3, vocab_size: 2000 }, B: 4, S: 64, features: ['mlmMaskedLogits'] },
  { name: '2×16, 30,522 words, masked head and hidden states', config: { hidden_size: 16, intermediate_size: 64, num_attention_heads: 2, num_hidden_layers: 2, vocab_size: 30522 }, B: 4, S: 32, features: ['mlmMaskedLogits', 'hidden'] },
];

describe('memory estimates against the measured peak', () => {
  for (const c of BERT_CASES) {
    for (const training of [true, false]) {
      it(`bert ${c.name}, ${c.B} × ${c.S} tokens, ${training ? 'training' : 'frozen'}: at least the peak, at most 2.5 times it`, async () => {
        const model = new BertModel({ ...c.config, max_position_embeddings: 64, num_labels: 2 }, { heads: ['classification', 'mlm'], seed: 3 });
        const batch = batchOf(c.B, c.S, c.config.vocab_size);
        const features = new Set(c.features);
        try {
          const peak = await measuredPeak(model as unknown as Estimating, batch, features, training);
          const estimate = model.estimateMemory({ batchSize: c.B, sequenceLength: c.S, features, training });
          expect(estimate.bytes).toBeGreaterThanOrEqual(0.95 * peak);
          expect(estimate.bytes).toBeLessThanOrEqual(2.5 * peak);
          expect(estimate.detail).toContain(`${c.B} × ${c.S} tokens`);
          // The frozen view gives the frozen estimate whatever it is asked.
          const frozen = model.asTeacher().estimateMemory!({ batchSize: c.B, sequenceLength: c.S, features, training: true });
          expect(frozen.bytes).toBe(model.estimateMemory({ batchSize: c.B, sequenceLength: c.S, features, training: false }).bytes);
        } finally {
          tf.dispose(Object.values(batch) as tf.Tensor[]);
          model.dispose();
        }
      });
    }
  }

  for (const [E, U, B, S] of [[32, 16, 8, 32], [64, 32, 4, 64]]) {
    for (const training of [true, false]) {
      it(`bilstm ${E}×${U}, ${B} × ${S} tokens, ${training ? 'training' : 'frozen'}: at least the peak, at most 2.5 times it`, async () => {
        const model = new BiLstmClassifier({ vocabSize: 500, numLabels: 2, embeddingSize: E, units: U, denseSize: 32, dropout: 0.1, seed: 2 });
        const batch = batchOf(B, S, 500);
        const features: ReadonlySet<Feature> = new Set(['logits']);
        try {
          const peak = await measuredPeak(model as unknown as Estimating, batch, features, training);
          const estimate = model.estimateMemory({ batchSize: B, sequenceLength: S, features, training });
          expect(estimate.bytes).toBeGreaterThanOrEqual(0.95 * peak);
          expect(estimate.bytes).toBeLessThanOrEqual(2.5 * peak);
        } finally {
          tf.dispose(Object.values(batch) as tf.Tensor[]);
          model.dispose();
        }
      });
    }
  }

  it('grows with the batch and the sequence: the 4 × 256 teacher step of examples/spam (32 × 128 tokens, measured at 4,166 MB) is not refused, 64 × 256 is', () => {
    const model = new BertModel({ hidden_size: 256, intermediate_size: 1024, num_attention_heads: 4, num_hidden_layers: 4, vocab_size: 30522,
      max_position_embeddings: 512, num_labels: 2 }, { heads: ['classification'], initialize: false });
    try {
      const features: ReadonlySet<Feature> = new Set(['logits']);
      const at = (B: number, S: number) => model.estimateMemory({ batchSize: B, sequenceLength: S, features, training: true }).bytes;
      // Linear in the batch (the weights' gradients are the fixed part).
      expect((at(96, 128) - at(64, 128)) / (at(64, 128) - at(32, 128))).toBeCloseTo(1, 6);
      expect(at(32, 256)).toBeGreaterThan(2 * at(32, 128));   // attention maps grow with S²
      expect(at(32, 128)).toBeGreaterThan(4166e6);
      expect(at(32, 128)).toBeLessThan(REFUSE_ABOVE * WASM_HEAP_BYTES);
      expect(at(64, 256)).toBeGreaterThan(REFUSE_ABOVE * WASM_HEAP_BYTES);
    } finally {
      model.dispose();
    }
  });
});
