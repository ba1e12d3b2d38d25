import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  consoleLogger, disposeBatch, DistilleryError, type Batch, type BatchSource, type Feature, type Logger,
  type ModelOutputs, type Teacher,
} from '@distillery/core';
import { decodeSafetensors, encodeSafetensors, writeDirAtomic, type StoredTensor } from '@distillery/core/kit';
import { sha256 } from './internals/hash.js';

const FORMAT = 'distillery-teacher-cache';
const VERSION = 1;
const ROW_HASH = '__row_hash';
const LIST_FEATURES: ReadonlySet<Feature> = new Set(['hidden', 'attentionScores', 'attentionProbs', 'queries', 'keys', 'values']);

/** Options of cachedTeacher and TeacherCache.build. */
export interface TeacherCacheOptions {
  /** Folder of the cache: index.json and chunk-NNNNN.safetensors; replaced as a whole when rebuilt. */
  dir: string;
  /** Teacher features to store; sequence features ('hidden', attention, …) are large. @default ['logits'] */
  features?: readonly Feature[];
  /** Identifies the teacher's weights: any string that changes when they do, e.g. fingerprintTensors(weights). */
  teacherFingerprint: string;
  /** Identifies the data. @default SHA-256 of every batch's inputIds, attentionMask and tokenTypeIds (reads the whole source) */
  datasetFingerprint?: string;
  /** Examples per teacher forward while building. @default 32 */
  batchSize?: number;
  /** Examples per safetensors file. @default 4096 */
  chunkSize?: number;
  /** Refuse to build when the estimated size exceeds this many bytes (checked before writing). */
  maxBytes?: number;
  /** Receives the size estimate, and why a cache was rebuilt. @default consoleLogger */
  logger?: Logger;
}

/** One stored tensor per example: a feature, or one layer of a per-layer feature. */
interface Entry { name: string; feature: Feature; layer?: number; shape: number[] }

/** index.json of a cache. */
interface CacheIndex {
  format: string;
  version: number;
  key: string;
  fingerprints: { dataset: string; teacher: string; features: Feature[] };
  size: number;
  chunkSize: number;
  /** The padded length every build batch had, when sequence features are stored. */
  sequenceLength?: number;
  entries: Entry[];
  bytes: number;
  chunks: { file: string; start: number; count: number; bytes: number; sha256: string }[];
}

/** The key a cache is valid for: dataset + teacher fingerprints + sorted feature list + size. */
export function cacheKey(datasetFingerprint: string, teacherFingerprint: string, features: readonly Feature[], size: number): string {
  return sha256(JSON.stringify({ format: FORMAT, version: VERSION, datasetFingerprint, teacherFingerprint, features: [...features].sort(), size }));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(bytes < 1048576 ? 3 : 1)} MiB`;

/** FNV-1a of a row's real tokens (mask 1), so a batch can be checked against what was cached. */
function rowHashes(batch: Batch): Int32Array {
  const [b, s] = batch.inputIds.shape;
  const ids = batch.inputIds.dataSync();
  const mask = batch.attentionMask.dataSync();
  const out = new Int32Array(b);
  for (let r = 0; r < b; r++) {
    let h = 0x811c9dc5;
    for (let p = r * s; p < (r + 1) * s; p++) {
      if (mask[p] === 0) continue;
      h = Math.imul(h ^ ids[p], 0x01000193);
      h = Math.imul(h ^ (ids[p] >>> 16), 0x01000193);
    }
    out[r] = h | 0;
  }
  return out;
}

/** The stored entries of a teacher output, in a fixed order. */
type Found = { name: string; feature: Feature; layer?: number; tensor: tf.Tensor };
function entriesOf(out: ModelOutputs, features: readonly Feature[], teacherName: string): Found[] {
  return features.flatMap((feature): Found[] => {
    const value = out[feature];
    if (value === undefined) throw new DistilleryError(`teacher cache: teacher ${teacherName} returned no '${feature}'`, 'feature');
    if (Array.isArray(value)) return value.map((tensor, layer) => ({ name: `${feature}.${layer}`, feature, layer, tensor }));
    return [{ name: feature, feature, tensor: value as tf.Tensor }];
  });
}

/**
 * Teacher outputs computed once for a fixed dataset, stored on disk by example index, keyed by the
 * dataset fingerprint + teacher fingerprint + feature list. open() verifies every chunk's size and
 * SHA-256 and fails on any mismatch, so a corrupt or stale cache is never used.
 */
export class TeacherCache {
  private constructor(
    readonly dir: string,
    private readonly index: CacheIndex,
    private readonly chunks: { start: number; count: number; data: Map<string, Float32Array | Int32Array> }[],
  ) {}

  /** The key the cache was built for. */
  get key(): string { return this.index.key; }
  /** Number of examples. */
  get size(): number { return this.index.size; }
  /** Bytes of tensor data on disk. */
  get bytes(): number { return this.index.bytes; }
  /** The stored features. */
  get features(): ReadonlySet<Feature> { return new Set(this.index.fingerprints.features); }

  /** Reads and verifies a cache; throws (code 'checkpoint') saying what is missing, stale or corrupt. */
  static async open(dir: string, expectedKey?: string): Promise<TeacherCache> {
    const fail = (why: string) => new DistilleryError(`teacher cache ${dir}: ${why}`, 'checkpoint');
    const indexFile = path.join(dir, 'index.json');
    let text: string;
    try {
      text = await fs.readFile(indexFile, 'utf8');
    } catch {
      throw fail('missing (no index.json)');
    }
    let index: CacheIndex;
    try {
      index = JSON.parse(text);
    } catch {
      throw fail('corrupt: index.json does not parse');
    }
    if (index?.format !== FORMAT || !Array.isArray(index.chunks) || !Array.isArray(index.entries)) throw fail('corrupt: index.json is not a teacher cache index');
    if (index.version !== VERSION) throw fail(`stale: format version ${index.version}, this code reads ${VERSION}`);
    if (expectedKey !== undefined && index.key !== expectedKey) {
      throw fail('stale: it was built for another dataset, teacher or feature list (key mismatch)');
    }
    const chunks: TeacherCache['chunks'] = [];
    let next = 0;
    for (const chunk of index.chunks) {
      const file = path.join(dir, path.basename(chunk.file));
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await fs.readFile(file));
      } catch {
        throw fail(`corrupt: chunk ${chunk.file} is missing`);
      }
      if (bytes.length !== chunk.bytes) throw fail(`corrupt: chunk ${chunk.file} has ${bytes.length} bytes, the index says ${chunk.bytes}`);
      if (sha256(bytes) !== chunk.sha256) throw fail(`corrupt: chunk ${chunk.file} does not match its SHA-256`);
      if (chunk.start !== next) throw fail(`corrupt: chunk ${chunk.file} starts at example ${chunk.start}, expected ${next}`);
      // The teacher's own outputs, checked by SHA-256 above: non-finite values are the loss's concern (NonFiniteLossError).
      const { tensors } = decodeSafetensors(bytes, { source: file, allowNonFinite: true });
      const data = new Map<string, Float32Array | Int32Array>();
      for (const entry of [...index.entries, { name: ROW_HASH, shape: [] as number[] }]) {
        const t = tensors[entry.name];
        const want = [chunk.count, ...entry.shape];
        if (!t || t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
          throw fail(`corrupt: chunk ${chunk.file} lacks '${entry.name}' of shape [${want.join(', ')}]`);
        }
        data.set(entry.name, t.data);
      }
      chunks.push({ start: chunk.start, count: chunk.count, data });
      next += chunk.count;
    }
    if (next !== index.size) throw fail(`corrupt: the chunks hold ${next} examples, the index says ${index.size}`);
    return new TeacherCache(dir, index, chunks);
  }

  /** Runs the teacher over the whole source once and writes the cache (atomically) to options.dir. */
  static async build(teacher: Teacher, source: BatchSource, options: TeacherCacheOptions & { key: string; datasetFingerprint: string }): Promise<TeacherCache> {
    const { dir, key, batchSize = 32, chunkSize = 4096, maxBytes, logger = consoleLogger } = options;
    const features = [...new Set(options.features ?? ['logits'])] as Feature[];
    const sequence = features.some((f) => f !== 'logits');
    const index: CacheIndex = {
      format: FORMAT, version: VERSION, key,
      fingerprints: { dataset: options.datasetFingerprint, teacher: options.teacherFingerprint, features },
      size: source.size, chunkSize, entries: [], bytes: 0, chunks: [],
    };
    const featureSet = new Set(features);
    await writeDirAtomic(dir, async (tmp) => {
      let buffers: Map<string, Float32Array | Int32Array> | undefined;
      let filled = 0;
      let chunkStart = 0;
      const flush = async () => {
        if (!buffers || filled === 0) return;
        const tensors: Record<string, StoredTensor> = {};
        for (const entry of [...index.entries, { name: ROW_HASH, shape: [] as number[] }]) {
          tensors[entry.name] = { shape: [filled, ...entry.shape], data: buffers.get(entry.name)!.subarray(0, filled * product(entry.shape)) };
        }
        const bytes = encodeSafetensors(tensors, { format: FORMAT, start: String(chunkStart) });
        const file = `chunk-${String(index.chunks.length).padStart(5, '0')}.safetensors`;
        await fs.writeFile(path.join(tmp, file), bytes);
        index.chunks.push({ file, start: chunkStart, count: filled, bytes: bytes.length, sha256: sha256(bytes) });
        chunkStart += filled;
        filled = 0;
      };
      for (let start = 0; start < source.size; start += batchSize) {
        const indices = range(start, Math.min(source.size, start + batchSize));
        const batch = source.batch(indices);
        let out: ModelOutputs | undefined;
        try {
          const width = batch.inputIds.shape[1];
          if (sequence) {
            index.sequenceLength ??= width;
            if (width !== index.sequenceLength) {
              throw new DistilleryError(`teacher cache: batches have lengths ${index.sequenceLength} and ${width}; caching ` +
                `${features.filter((f) => f !== 'logits').join(', ')} needs one fixed length (textBatchSource padding 'max_length')`, 'config');
            }
          }
          out = tf.tidy(() => teacher.forward(batch, featureSet) as tf.TensorContainer) as ModelOutputs;
          const found = entriesOf(out, features, teacher.name);
          if (start === 0) {
            index.entries = found.map(({ name, feature, layer, tensor }) => ({
              name, feature, ...(layer === undefined ? {} : { layer }), shape: tensor.shape.slice(1),
            }));
            const perExample = index.entries.reduce((sum, e) => sum + 4 * product(e.shape), 4);
            index.bytes = perExample * source.size;
            logger.info(`teacher cache: ${teacher.name}: ${features.join(', ')} for ${source.size} examples ≈ ${mib(index.bytes)} ` +
              `(${perExample} bytes each) → ${dir}`);
            if (maxBytes !== undefined && index.bytes > maxBytes) {
              throw new DistilleryError(`teacher cache: the estimated size ${mib(index.bytes)} exceeds maxBytes ${mib(maxBytes)}; ` +
                `cache fewer features (features: ['logits'])`, 'config');
            }
          }
          const hashes = rowHashes(batch);
          const values = found.map(({ name, tensor }, e) => {
            const entry = index.entries[e];
            const shape = tensor.shape.slice(1);
            if (entry?.name !== name || tensor.shape[0] !== indices.length || shape.some((d, i) => d !== entry.shape[i]) || shape.length !== entry.shape.length) {
              throw new DistilleryError(`teacher cache: '${name}' has shape [${tensor.shape.join(', ')}] for examples ${start}…, ` +
                `expected [${indices.length}, ${entry?.shape.join(', ')}] as in the first batch`, 'shape');
            }
            return tensor.dataSync() as Float32Array;
          });
          for (let r = 0; r < indices.length; r++) {
            if (!buffers || filled === chunkSize) {
              await flush();
              buffers = new Map<string, Float32Array | Int32Array>(index.entries.map((e) => [e.name, new Float32Array(chunkSize * product(e.shape))]));
              buffers.set(ROW_HASH, new Int32Array(chunkSize));
            }
            index.entries.forEach((entry, e) => {
              const n = product(entry.shape);
              buffers!.get(entry.name)!.set(values[e].subarray(r * n, (r + 1) * n), filled * n);
            });
            buffers.get(ROW_HASH)![filled] = hashes[r];
            filled++;
          }
        } finally {
          if (out) tf.dispose(out as tf.TensorContainer);
          disposeBatch(batch);
        }
      }
      await flush();
      index.bytes = index.chunks.reduce((sum, c) => sum + c.bytes, 0);
      await fs.writeFile(path.join(tmp, 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
    });
    return TeacherCache.open(dir, key);
  }

  /**
   * The cached outputs of examples `indices` as new tensors [B, ...]. `batch`, when given, is checked
   * against what the cache was built from (its real tokens, and its length for sequence features).
   */
  outputs(indices: readonly number[], features: ReadonlySet<Feature>, batch?: Batch): ModelOutputs {
    const stored = this.features;
    const missing = [...features].filter((f) => !stored.has(f));
    if (missing.length) {
      throw new DistilleryError(`teacher cache ${this.dir}: '${missing.join("', '")}' not cached (it holds: ${[...stored].join(', ')}); ` +
        `rebuild with features including them`, 'feature');
    }
    const locate = (i: number) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new DistilleryError(`teacher cache ${this.dir}: example ${i} is outside [0, ${this.size})`, 'config');
      const chunk = this.chunks[Math.floor(i / this.index.chunkSize)];
      return { chunk, row: i - chunk.start };
    };
    if (batch) {
      const hashes = rowHashes(batch);
      indices.forEach((i, r) => {
        const { chunk, row } = locate(i);
        if (chunk.data.get(ROW_HASH)![row] !== hashes[r]) {
          throw new DistilleryError(`teacher cache ${this.dir}: the tokens of example ${i} differ from those the cache was built from ` +
            `(a different dataset, or inputs that change between reads). MLM stages cannot use the teacher cache: masking ` +
            `draws new positions on every read and the teacher must see the masked inputs, so give such a stage the live teacher`, 'config');
        }
      });
      const width = batch.inputIds.shape[1];
      if (this.index.sequenceLength !== undefined && [...features].some((f) => f !== 'logits') && width !== this.index.sequenceLength) {
        throw new DistilleryError(`teacher cache ${this.dir}: batch length ${width}, but sequence features were cached at ${this.index.sequenceLength}`, 'shape');
      }
    }
    const out: ModelOutputs = {};
    for (const feature of features) {
      const entries = this.index.entries.filter((e) => e.feature === feature);
      const tensors = entries.map((entry) => {
        const n = product(entry.shape);
        const data = new Float32Array(indices.length * n);
        indices.forEach((i, r) => {
          const { chunk, row } = locate(i);
          data.set((chunk.data.get(entry.name) as Float32Array).subarray(row * n, (row + 1) * n), r * n);
        });
        return tf.tensor(data, [indices.length, ...entry.shape], 'float32');
      });
      (out as Record<string, tf.Tensor | tf.Tensor[]>)[feature] = LIST_FEATURES.has(feature) ? tensors : tensors[0];
    }
    return out;
  }
}
