import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import type { Batch, BatchSource } from './types.js';

/** Examples already tokenized and padded to one length. */
export interface ArraySourceInput {
  inputIds: number[][];
  /** @default 1 where inputIds is not `padId`. */
  attentionMask?: number[][];
  tokenTypeIds?: number[][];
  /** Class ids, or float targets for regression. */
  labels?: number[];
  /** @default 0 */
  padId?: number;
  /** Labels are float targets (regression). @default false */
  regression?: boolean;
}

/** A BatchSource over in-memory arrays; rows must share one length. */
export function arraySource(input: ArraySourceInput): BatchSource {
  const { inputIds, labels, tokenTypeIds, padId = 0, regression = false } = input;
  const length = inputIds[0]?.length ?? 0;
  inputIds.forEach((row, i) => {
    if (row.length !== length) {
      throw new DistilleryError(`arraySource: inputIds[${i}] has length ${row.length}, expected ${length} like row 0`, 'shape');
    }
  });
  if (labels && labels.length !== inputIds.length) {
    throw new DistilleryError(`arraySource: ${labels.length} labels for ${inputIds.length} rows`, 'shape');
  }
  const mask = input.attentionMask ?? inputIds.map((row) => row.map((id) => (id === padId ? 0 : 1)));
  const pick = <T>(rows: T[], idx: readonly number[]) => idx.map((i) => rows[i]);
  return {
    size: inputIds.length,
    batch(indices): Batch {
      const b = indices.length;
      const batch: Batch = {
        inputIds: tf.tensor2d(pick(inputIds, indices), [b, length], 'int32'),
        attentionMask: tf.tensor2d(pick(mask, indices), [b, length], 'int32'),
      };
      if (tokenTypeIds) batch.tokenTypeIds = tf.tensor2d(pick(tokenTypeIds, indices), [b, length], 'int32');
      if (labels) batch.labels = tf.tensor1d(pick(labels, indices), regression ? 'float32' : 'int32');
      return batch;
    },
  };
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  const all: (tf.Tensor | undefined)[] = [batch.inputIds, batch.attentionMask, batch.tokenTypeIds, batch.labels, batch.mlmLabels];
  tf.dispose(all.filter((t): t is tf.Tensor => t !== undefined));
}
