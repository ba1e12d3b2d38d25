import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Logger, Teacher, TeacherCacheHook } from '@distillery/core';
import { cacheKey, cachedTeacher, fingerprintSource, fingerprintTensors, MlmMasker } from '@distillery/data';
import { BertModel } from '@distillery/models';

/** What the CLI's teacher cache did for a stage, for metrics.jsonl. */
export interface LogitsCacheRecord {
  stage: string;
  /** The cache folder. */
  dir: string;
  /** Built in this run (else reused from an earlier one). */
  built: boolean;
  /** Fingerprinting, and building or opening (and verifying) the cache. */
  seconds: number;
}

/** Options of logitsCache. */
export interface LogitsCacheOptions {
  /** The folder that holds one cache per teacher and dataset: `<run folder>/cache`. */
  root: string;
  /** Where the one line per stage goes (and the data package's warnings about a stale or corrupt cache). */
  logger: Logger;
  /** The teacher's weights, to fingerprint it; undefined when they cannot be reached (the cache is then not used). */
  weights(teacher: Teacher): readonly tf.Tensor[] | undefined;
  /** Told what was done, once per stage that uses the cache. */
  record?(record: LogitsCacheRecord): void;
}

/**
 * The CLI's teacher cache, as a core `teacherCache` hook: a stage whose losses read only the
 * teacher's logits, on data that is not MLM-masked (the teacher must see the masked inputs), reads
 * them from `<root>/logits-<key>` (@distillery/data's cachedTeacher), built on the stage's first
 * step and reused by later runs and `--resume` for as long as the teacher's weights and the
 * training inputs are the same (the key is made of both fingerprints). Says so in one line:
 * `stage 'x': teacher logits read from the cache <dir> (built now in 12.3 s | reused)`.
 */
export function logitsCache({ root, logger, weights, record }: LogitsCacheOptions): TeacherCacheHook {
  return async ({ stage, teacher, train, features }) => {
    if ([...features].some((f) => f !== 'logits')) return undefined;
    const skip = (why: string) => { logger.info(`stage '${stage}': teacher logits not cached: ${why}`); return undefined; };
    if (isMasked(train)) return skip('its training data is MLM-masked, and the teacher must see each draw of masks');
    const tensors = weights(teacher);
    if (!tensors) return skip(`the weights of teacher ${teacher.name} cannot be read to fingerprint it`);
    const started = performance.now();
    const teacherFingerprint = fingerprintTensors(tensors as tf.Tensor[]);
    const datasetFingerprint = fingerprintSource(train);
    const key = cacheKey(datasetFingerprint, teacherFingerprint, ['logits'], train.size);
    const dir = path.join(root, `logits-${key.slice(0, 16)}`);
    // The size estimate the data package logs is left out: one line per stage says what happened.
    const cached = await cachedTeacher(teacher, train, {
      dir, teacherFingerprint, datasetFingerprint, features: ['logits'], logger: { info: () => undefined, warn: (m) => logger.warn(m) },
    });
    const seconds = (performance.now() - started) / 1000;
    logger.info(`stage '${stage}': teacher logits read from the cache ${dir} (${cached.built ? `built now in ${seconds.toFixed(1)} s` : 'reused'})`);
    record?.({ stage, dir, built: cached.built, seconds: Math.round(seconds * 1000) / 1000 });
    return { teacher: cached.teacher, train: cached.source };
  };
}

/** A source that draws new MLM masks on every read (@distillery/data's mlmSource). */
const isMasked = (source: BatchSource): boolean => (source as { masker?: unknown }).masker instanceof MlmMasker;

/**
 * The weights behind a teacher: a BERT teacher (or the frozen view of a BERT), else the
 * `trainableVariables` of a model handed in as the teacher; `earlier` for a `{ stage }` reference
 * (that stage's student, whatever its kind).
 */
export function teacherWeights(teacher: Teacher, earlier?: { trainableVariables: tf.Variable[] }): readonly tf.Tensor[] | undefined {
  if (earlier) return earlier.trainableVariables;
  const bert = BertModel.unwrap(teacher);
  if (bert) return bert.trainableVariables;
  const own = (teacher as { trainableVariables?: unknown }).trainableVariables;
  return Array.isArray(own) && own.length > 0 ? own as tf.Variable[] : undefined;
}
