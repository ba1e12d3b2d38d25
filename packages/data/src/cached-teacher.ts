import type * as tf from '@tensorflow/tfjs-core';
import {
  consoleLogger, disposeBatch, DistilleryError, type Batch, type BatchSource, type Feature, type ModelOutputs,
  type Teacher,
} from '@distillery/core';
import { type StoredTensor } from '@distillery/core/kit';
import { Hasher } from './internals/hash.js';
import { cacheKey, TeacherCache, type TeacherCacheOptions } from './teacher-cache.js';

/** SHA-256 of tensors' shapes, dtypes and values (e.g. a model's weights, for teacherFingerprint). */
export function fingerprintTensors(tensors: readonly tf.Tensor[] | Record<string, StoredTensor>): string {
  const hasher = new Hasher();
  if (Array.isArray(tensors)) {
    for (const t of tensors as tf.Tensor[]) hasher.update(`${t.dtype}[${t.shape.join(',')}]`).update(t.dataSync() as Float32Array);
  } else {
    for (const name of Object.keys(tensors).sort()) {
      const { shape, data } = (tensors as Record<string, StoredTensor>)[name];
      hasher.update(`${name}[${shape.join(',')}]`).update(data);
    }
  }
  return hasher.digest();
}

/** Content fingerprint of a source: every batch's int32 inputs, read in order. */
export function fingerprintSource(source: BatchSource, batchSize = 256): string {
  const hasher = new Hasher().update(`size ${source.size}`);
  for (let start = 0; start < source.size; start += batchSize) {
    const batch = source.batch(Array.from({ length: Math.min(batchSize, source.size - start) }, (_, i) => start + i));
    try {
      for (const t of [batch.inputIds, batch.attentionMask, batch.tokenTypeIds]) {
        if (t) hasher.update(`[${t.shape.join(',')}]`).update(t.dataSync() as Int32Array);
        else hasher.update('none');
      }
    } finally {
      disposeBatch(batch);
    }
  }
  return hasher.digest();
}

/** A teacher served from a cache, and the source whose batches it can answer for. */
export interface CachedTeacher {
  /** Use as the stage's teacher: forward() looks outputs up, never running the live teacher. */
  teacher: Teacher;
  /** Use as the stage's data.train: the same batches as the wrapped source, registered with `teacher`. */
  source: BatchSource;
  cache: TeacherCache;
  /** Whether this call ran the live teacher (the cache was missing, stale or corrupt). */
  built: boolean;
  /** Why it was (re)built, or 'valid'. */
  reason: string;
}

/**
 * Serves a teacher's outputs for a fixed dataset from a disk cache, building it (one pass of the
 * live teacher) when it is missing, stale (another key) or corrupt (bad size or hash): never used
 * then, always rebuilt. Plug both returned objects into a stage, unchanged core:
 * `{ teacher: cached.teacher, data: { train: cached.source } }`.
 *
 * How indices reach the teacher: `source.batch(indices)` returns the wrapped source's Batch object
 * and records its indices in a WeakMap keyed by that object; the Distiller hands the very same
 * object to `teacher.forward`, which looks the indices up (the entry goes when the batch is
 * collected; Batch and core stay unchanged). A batch from anywhere else, or a copy, fails clearly.
 * Each lookup also checks the batch's tokens against a hash stored per example, so a dataset
 * mix-up or inputs that change between reads (MLM masking: such stages cannot use the cache) fail too.
 */
export async function cachedTeacher(teacher: Teacher, source: BatchSource, options: TeacherCacheOptions): Promise<CachedTeacher> {
  const { dir, logger = consoleLogger } = options;
  const features = [...new Set(options.features ?? ['logits'])] as Feature[];
  if (typeof options.teacherFingerprint !== 'string' || options.teacherFingerprint === '') {
    throw new DistilleryError(`cachedTeacher: option 'teacherFingerprint' is required (e.g. fingerprintTensors(weights) or a version string)`, 'config');
  }
  if (typeof dir !== 'string' || dir === '') throw new DistilleryError(`cachedTeacher: option 'dir' is required`, 'config');
  for (const f of features) {
    if (!teacher.emits.has(f)) {
      throw new DistilleryError(`cachedTeacher: teacher ${teacher.name} does not emit '${f}' (it emits: ${[...teacher.emits].join(', ')})`, 'feature');
    }
  }
  const datasetFingerprint = options.datasetFingerprint ?? fingerprintSource(source);
  const key = cacheKey(datasetFingerprint, options.teacherFingerprint, features, source.size);
  let cache: TeacherCache;
  let built = false;
  let reason = 'valid';
  try {
    cache = await TeacherCache.open(dir, key);
  } catch (error) {
    if (!(error instanceof DistilleryError) || error.code !== 'checkpoint') throw error;
    reason = error.message.replace(`teacher cache ${dir}: `, '');
    if (!reason.startsWith('missing')) logger.warn(`teacher cache ${dir}: ${reason}; rebuilding it`);
    cache = await TeacherCache.build(teacher, source, { ...options, features, datasetFingerprint, key });
    built = true;
  }

  const issued = new WeakMap<Batch, readonly number[]>();
  const emits: ReadonlySet<Feature> = new Set(features);
  const name = `cached(${teacher.name})`;
  return {
    cache, built, reason,
    source: {
      size: source.size,
      batch(indices): Batch {
        const batch = source.batch(indices);
        issued.set(batch, [...indices]);
        return batch;
      },
    },
    teacher: {
      name,
      info: teacher.info,
      emits,
      forward(batch, requested): ModelOutputs {
        const indices = issued.get(batch);
        if (!indices) {
          throw new DistilleryError(`teacher ${name}: this batch did not come from the cached teacher's source; ` +
            `use cached.source as the stage's data.train`, 'config');
        }
        return cache.outputs(indices, requested, batch);
      },
    },
  };
}
