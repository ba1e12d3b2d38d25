import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch, DistilleryError, type Batch, type BatchSource } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import type { VocabLike } from './types.js';

/** Options of DistilBERT-style masking. */
export interface MlmOptions {
  /** Share of eligible tokens (not special, not padding) chosen for prediction. @default 0.15 */
  probability?: number;
  /** Share of the chosen tokens replaced by the mask token. @default 0.8 */
  maskFraction?: number;
  /** Share of the chosen tokens replaced by a random non-special token; the rest stay unchanged. @default 0.1 */
  randomFraction?: number;
  /** Seeds every mask (with the batch's indices, or the step of maskBatch). @default 42 */
  seed?: number;
  /**
   * DistilBERT's token-frequency smoothing: a token of corpus count c is chosen with weight
   * max(c, 1)^−smoothing, so rare tokens are masked more often (the reference uses 0.7). 0 chooses
   * uniformly. Needs `tokenCounts`. @default 0
   */
  smoothing?: number;
  /** Corpus count of every id (length vocabSize), e.g. from countTokens(); used when smoothing > 0. */
  tokenCounts?: ArrayLike<number>;
}

/** Masked ids and their targets, both [rows × width] row-major. */
export interface MaskResult {
  inputIds: Int32Array;
  /** The original id where a token was chosen, −100 elsewhere. */
  mlmLabels: Int32Array;
}

/** The ignore value of mlmLabels (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_INDEX = -100;

/**
 * Masked-LM masking as in DistilBERT (HF `examples/research_projects/distillation`, distiller.py
 * `prepare_batch_mlm`, token weights from train.py). Per batch, n = probability × (eligible tokens)
 * positions are drawn without replacement (n rounded stochastically, so its mean is exact),
 * weighted by the smoothed token weights; each is replaced by the mask token (80 %), a random
 * token (10 %) or kept (10 %). Differences from the reference, on purpose: special and padding
 * tokens are excluded from the count as well as from the draw (the reference counts them, so it
 * masks slightly more than 15 % of real tokens), and random replacements are never special tokens
 * (the reference draws from the whole vocabulary).
 */
export class MlmMasker {
  readonly probability: number;
  readonly maskFraction: number;
  readonly randomFraction: number;
  readonly seed: number;
  /** Choice weight of every id (0 for special ids); undefined when uniform. */
  readonly weights?: Float64Array;
  private readonly eligible: Uint8Array;
  private readonly replacements: Int32Array;

  constructor(readonly vocab: VocabLike, options: MlmOptions = {}) {
    const { probability = 0.15, maskFraction = 0.8, randomFraction = 0.1, seed = 42, smoothing = 0, tokenCounts } = options;
    const fail = (msg: string) => new DistilleryError(`mlm: ${msg}`, 'config');
    for (const [name, v] of Object.entries({ probability, maskFraction, randomFraction })) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw fail(`${name} must be in [0, 1], got ${v}`);
    }
    if (maskFraction + randomFraction > 1 + 1e-12) throw fail(`maskFraction + randomFraction must be <= 1, got ${maskFraction + randomFraction}`);
    if (!Number.isInteger(seed)) throw fail(`seed must be an integer, got ${seed}`);
    const { vocabSize, specialIds, maskId, padId } = vocab;
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw fail(`vocabSize must be a positive integer, got ${vocabSize}`);
    for (const [name, id] of Object.entries({ maskId, padId })) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw fail(`${name} ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
    this.probability = probability;
    this.maskFraction = maskFraction;
    this.randomFraction = randomFraction;
    this.seed = seed;
    this.eligible = new Uint8Array(vocabSize).fill(1);
    for (const id of [...specialIds, maskId, padId]) if (id >= 0 && id < vocabSize) this.eligible[id] = 0;
    const allowed: number[] = [];
    for (let id = 0; id < vocabSize; id++) if (this.eligible[id]) allowed.push(id);
    if (allowed.length === 0) throw fail('every id of the vocabulary is special; nothing can be masked');
    this.replacements = Int32Array.from(allowed);
    if (typeof smoothing !== 'number' || !(smoothing >= 0)) throw fail(`smoothing must be >= 0, got ${smoothing}`);
    if (smoothing > 0) {
      if (!tokenCounts || tokenCounts.length !== vocabSize) {
        throw fail(`smoothing needs tokenCounts with one count per id (${vocabSize}), got ${tokenCounts ? tokenCounts.length : 'none'}`);
      }
      this.weights = new Float64Array(vocabSize);
      for (let id = 0; id < vocabSize; id++) this.weights[id] = this.eligible[id] ? Math.max(tokenCounts[id], 1) ** -smoothing : 0;
    }
  }

  /** Masks a [rows × width] batch of ids (row-major) whose attention mask is 0 at padding, drawing from rng. */
  mask(inputIds: ArrayLike<number>, attentionMask: ArrayLike<number>, rng: Rng): MaskResult {
    if (attentionMask.length !== inputIds.length) {
      throw new DistilleryError(`mlm: attentionMask has ${attentionMask.length} values, inputIds ${inputIds.length}`, 'shape');
    }
    const ids = Int32Array.from(inputIds);
    const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
    const positions: number[] = [];
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p];
      if (!(id >= 0 && id < this.eligible.length)) throw new DistilleryError(`mlm: id ${id} at position ${p} is outside the vocabulary [0, ${this.eligible.length})`, 'shape');
      if (attentionMask[p] !== 0 && this.eligible[id]) positions.push(p);
    }
    const expected = this.probability * positions.length;
    const n = Math.min(positions.length, Math.floor(expected) + (rng.next() < expected - Math.floor(expected) ? 1 : 0));
    if (n === 0) return { inputIds: ids, mlmLabels: labels };
    // Weighted draw without replacement (Efraimidis–Spirakis): the n largest log(u)/w.
    const keys = new Float64Array(positions.length);
    positions.forEach((p, k) => {
      const u = (rng.nextUint32() + 0.5) / 4294967296;
      keys[k] = Math.log(u) / (this.weights ? this.weights[ids[p]] : 1);
    });
    const chosen = Array.from(positions.keys()).sort((a, b) => keys[b] - keys[a] || a - b).slice(0, n);
    for (const k of chosen) {
      const p = positions[k];
      labels[p] = ids[p];
      const r = rng.next();
      if (r < this.maskFraction) ids[p] = this.vocab.maskId;
      else if (r < this.maskFraction + this.randomFraction) ids[p] = this.replacements[rng.int(this.replacements.length)];
    }
    return { inputIds: ids, mlmLabels: labels };
  }

  /**
   * A masked copy of a batch with `mlmLabels`; its other tensors are shared with `batch`, whose
   * inputIds the caller still owns. The mask depends only on the seed and `key` (e.g. the step).
   */
  maskBatch(batch: Batch, key: number | string): Batch {
    if (batch.mlmLabels) throw new DistilleryError('mlm: the batch already has mlmLabels', 'config');
    const shape = batch.inputIds.shape as [number, number];
    const { inputIds, mlmLabels } = this.mask(batch.inputIds.dataSync(), batch.attentionMask.dataSync(), Rng.derive(this.seed, 'mlm', key));
    return { ...batch, inputIds: tf.tensor2d(inputIds, shape, 'int32'), mlmLabels: tf.tensor2d(mlmLabels, shape, 'int32') };
  }
}

/**
 * Wraps a BatchSource so that every batch comes masked for MLM, with `mlmLabels`. The masks of a
 * batch depend on the seed and its index list: under the Distiller, whose index order follows the
 * stage seed, the same seed and step give the same masks (resumed runs included), while an example
 * gets fresh masks each epoch as its batch changes (dynamic masking).
 */
export function mlmSource(source: BatchSource, vocab: VocabLike, options: MlmOptions = {}): BatchSource & { masker: MlmMasker } {
  const masker = new MlmMasker(vocab, options);
  return {
    size: source.size,
    masker,
    batch(indices): Batch {
      const inner = source.batch(indices);
      try {
        const masked = masker.maskBatch(inner, indices.join(','));
        inner.inputIds.dispose();
        return masked;
      } catch (error) {
        disposeBatch(inner);
        throw error;
      }
    },
  };
}

/**
 * Corpus count of every id over non-padding tokens, for `tokenCounts`: from rows of ids, or from a
 * BatchSource read in order (attention mask 0 skipped).
 */
export function countTokens(data: BatchSource | Iterable<ArrayLike<number>>, vocabSize: number, batchSize = 256): Float64Array {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new DistilleryError(`countTokens: vocabSize must be a positive integer, got ${vocabSize}`, 'config');
  const counts = new Float64Array(vocabSize);
  const add = (id: number) => {
    if (!(id >= 0 && id < vocabSize)) throw new DistilleryError(`countTokens: id ${id} is outside the vocabulary [0, ${vocabSize})`, 'shape');
    counts[id]++;
  };
  if (typeof (data as BatchSource).batch === 'function') {
    const source = data as BatchSource;
    for (let start = 0; start < source.size; start += batchSize) {
      const batch = source.batch(Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i));
      try {
        const ids = batch.inputIds.dataSync();
        const mask = batch.attentionMask.dataSync();
        for (let p = 0; p < ids.length; p++) if (mask[p] !== 0) add(ids[p]);
      } finally {
        disposeBatch(batch);
      }
    }
  } else {
    for (const row of data as Iterable<ArrayLike<number>>) for (let p = 0; p < row.length; p++) add(row[p]);
  }
  return counts;
}
