import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError, type Batch, type BatchSource } from '@distillery/core';
import type { TextEncoderLike, TextExample } from './types.js';

/** Options of textBatchSource. */
export interface TextBatchSourceOptions {
  /** Longest sequence, special tokens included; longer texts are truncated. @default 128 */
  maxLength?: number;
  /** Pad each batch to its longest row, or every batch to maxLength. @default 'longest' */
  padding?: 'longest' | 'max_length';
  /** Keep each example's token ids after its first encoding (memory: about 8 bytes a token). @default true */
  cache?: boolean;
  /** Labels are float targets (float32) rather than class ids (int32). @default false */
  regression?: boolean;
}

/** Token ids of one example, unpadded. */
export interface EncodedExample {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
}

/**
 * Text examples as a core BatchSource: batch(indices) tokenizes (or takes cached ids), pads with the
 * encoder's padId (attention mask 0 there), and returns int32 inputIds, attentionMask and
 * tokenTypeIds, plus labels (int32 class ids, float32 for regression) when the examples have them.
 * A hidden label (-100, see keepLabels) is passed on as it is.
 */
export class TextBatchSource implements BatchSource {
  readonly size: number;
  readonly maxLength: number;
  readonly padding: 'longest' | 'max_length';
  private readonly cacheIds: boolean;
  private readonly regression: boolean;
  private readonly encoded: (EncodedExample | undefined)[];

  constructor(readonly examples: readonly TextExample[], readonly encoder: TextEncoderLike, options: TextBatchSourceOptions = {}) {
    const { maxLength = 128, padding = 'longest', cache = true, regression = false } = options;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new DistilleryError(`textBatchSource: maxLength must be a positive integer, got ${maxLength}`, 'config');
    if (padding !== 'longest' && padding !== 'max_length') {
      throw new DistilleryError(`textBatchSource: padding must be 'longest' or 'max_length', got ${JSON.stringify(padding)}`, 'config');
    }
    if (!Array.isArray(examples)) throw new DistilleryError('textBatchSource: examples must be an array of { text, textPair?, label? }', 'config');
    this.size = examples.length;
    this.maxLength = maxLength;
    this.padding = padding;
    this.cacheIds = cache;
    this.regression = regression;
    this.encoded = new Array(examples.length);
  }

  /** Token ids of examples (from the cache or the encoder), in the order asked. */
  encode(indices: readonly number[]): EncodedExample[] {
    const result = new Array<EncodedExample>(indices.length);
    const missing: number[] = [];
    indices.forEach((index, k) => {
      if (!Number.isInteger(index) || index < 0 || index >= this.size) {
        throw new DistilleryError(`textBatchSource: index ${index} is out of range [0, ${this.size})`, 'config');
      }
      const hit = this.encoded[index];
      if (hit) result[k] = hit; else missing.push(k);
    });
    // The encoder takes all single texts or all pairs in one call.
    for (const pairs of [false, true]) {
      const ks = missing.filter((k) => (this.examples[indices[k]].textPair !== undefined) === pairs);
      if (ks.length === 0) continue;
      const inputs = ks.map((k) => {
        const { text, textPair } = this.examples[indices[k]];
        if (typeof text !== 'string') throw new DistilleryError(`textBatchSource: example ${indices[k]} has no text`, 'config');
        return pairs ? [text, textPair!] as const : text;
      });
      const out = this.encoder.encodeBatch(inputs as string[] | [string, string][], { maxLength: this.maxLength, padding: false, truncation: true });
      ks.forEach((k, j) => {
        const ids = out.inputIds[j];
        const types = out.tokenTypeIds?.[j] ?? new Array(ids.length).fill(0);
        if (!ids || ids.length > this.maxLength || types.length !== ids.length) {
          throw new DistilleryError(`textBatchSource: the encoder returned ${ids ? `${ids.length} ids` : 'no row'} for example ` +
            `${indices[k]} (maxLength ${this.maxLength}, ${types.length} token type ids)`, 'shape');
        }
        const row = { inputIds: Int32Array.from(ids), tokenTypeIds: Int32Array.from(types) };
        if (this.cacheIds) this.encoded[indices[k]] = row;
        result[k] = row;
      });
    }
    return result;
  }

  /** Token counts (special tokens included, no padding) of every example; encodes them all once. */
  lengths(): number[] {
    const out: number[] = [];
    for (let start = 0; start < this.size; start += 256) {
      const indices = Array.from({ length: Math.min(256, this.size - start) }, (_, i) => start + i);
      for (const e of this.encode(indices)) out.push(e.inputIds.length);
    }
    return out;
  }

  batch(indices: readonly number[]): Batch {
    if (indices.length === 0) throw new DistilleryError('textBatchSource: batch() needs at least one index', 'config');
    const rows = this.encode(indices);
    const b = rows.length;
    const width = this.padding === 'max_length' ? this.maxLength : Math.max(...rows.map((r) => r.inputIds.length));
    const ids = new Int32Array(b * width).fill(this.encoder.padId);
    const mask = new Int32Array(b * width);
    const types = new Int32Array(b * width);
    rows.forEach((row, r) => {
      ids.set(row.inputIds, r * width);
      mask.fill(1, r * width, r * width + row.inputIds.length);
      types.set(row.tokenTypeIds, r * width);
    });
    const batch: Batch = {
      inputIds: tf.tensor2d(ids, [b, width], 'int32'),
      attentionMask: tf.tensor2d(mask, [b, width], 'int32'),
      tokenTypeIds: tf.tensor2d(types, [b, width], 'int32'),
    };
    const labels = indices.map((i) => this.examples[i].label);
    const labelled = labels.filter((l) => l !== undefined).length;
    if (labelled === b) {
      batch.labels = tf.tensor1d(labels as number[], this.regression ? 'float32' : 'int32');
    } else if (labelled > 0) {
      tf.dispose([batch.inputIds, batch.attentionMask, batch.tokenTypeIds!]);
      const missing = indices.find((i) => this.examples[i].label === undefined);
      throw new DistilleryError(`textBatchSource: example ${missing} has no label but others in its batch do ` +
        `(a row of a partly labelled set carries HIDDEN_LABEL, -100, rather than no label)`, 'config');
    }
    return batch;
  }
}

/** Text examples as a core BatchSource (see TextBatchSource). */
export function textBatchSource(examples: readonly TextExample[], encoder: TextEncoderLike, options: TextBatchSourceOptions = {}): TextBatchSource {
  return new TextBatchSource(examples, encoder, options);
}
