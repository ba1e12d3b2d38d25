import type { Feature, MemoryEstimate, StepShape } from '@distillery/core';
import type { BertConfig } from './config.js';

/** Features kept per encoder layer, and their size in floats per row. */
/** The peak over the counted tensors, measured (see above). */
const PEAK_TRAINING = 4.3;
const PEAK_FROZEN = 2.6;

const PER_LAYER_FEATURES: readonly Feature[] = ['attentionScores', 'attentionProbs', 'queries', 'keys', 'values'];

/**
 * The bytes a BERT forward of `shape` holds besides its weights, counted in float32 tensors of the
 * shapes forward() makes (bert-model.ts), per row of the batch:
 * - training (the weights' gradients; under the gradient tape every intermediate is kept for the backward pass): per layer
 *   about 24 [S, H] tensors (projections, head transposes, dropout masks, layer norms, residuals),
 *   5 [S, I] (feed-forward and GELU) and 7 [A, S, S] (scores, scaling, mask, softmax, dropout);
 *   the embeddings 8 [S, H]; the masked-LM head 5 [rows, V] (logits, log-softmax and their gradients)
 *   over every token, or over the masked ones (taken as a fifth of the tokens) for mlmMaskedLogits;
 * - frozen (no tape): the requested features that stay alive, plus one layer's intermediates at a time,
 *   and 2 [rows, V] for a masked-LM head.
 * The peak is a multiple of those tensors (the backward pass's transposes and temporaries, the
 * weights' gradients; the frozen forward's whole-layer tidies): PEAK_TRAINING and PEAK_FROZEN,
 * fitted to tf.profile's peak (the same on the CPU and wasm backends): a 4 × 256 model (FFN 1024,
 * 4 heads) training at 32 × 128 tokens peaks at 4,166 MB, 4,372 MB estimated; memory.test.ts checks
 * on small shapes that the estimate is at least the peak and at most 2.5 times it.
 */
export function bertMemory(c: BertConfig, shape: StepShape, parameters: number): MemoryEstimate {
  const { batchSize: B, sequenceLength: S, features, training } = shape;
  const H = c.hidden_size, I = c.intermediate_size, A = c.num_attention_heads, N = c.num_hidden_layers, V = c.vocab_size;
  const sh = S * H, si = S * I, ass = A * S * S;
  const vocabRows = features.has('mlmLogits') ? S : features.has('mlmMaskedLogits') ? Math.ceil(S / 5) : 0;
  let perRow: number;
  if (training) {
    perRow = 8 * sh + N * (24 * sh + 5 * si + 7 * ass) + 5 * vocabRows * V + (vocabRows ? 6 * vocabRows * H : 0);
  } else {
    let kept = features.has('hidden') ? (N + 1) * sh : sh;
    for (const f of PER_LAYER_FEATURES) if (features.has(f)) kept += N * (f.startsWith('attention') ? ass : sh);
    perRow = kept + 12 * sh + 2 * si + 4 * ass + 2 * vocabRows * V;
  }
  // Training adds the weights' gradients.
  const bytes = Math.ceil(4 * B * perRow * (training ? PEAK_TRAINING : PEAK_FROZEN)) + (training ? 4 * parameters : 0);
  const head = vocabRows ? `, the masked-LM head over ${vocabRows === S ? 'every token' : 'the masked tokens'} × ${V} words` : '';
  return { bytes, detail: `${training ? 'activations and gradients' : 'outputs and one layer'} of ${N} layers × ${H}, ` +
    `${A} heads, FFN ${I} at ${B} × ${S} tokens${head}` };
}
