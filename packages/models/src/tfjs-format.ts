import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from '@distillery/core';
import { writeDirAtomic } from '@distillery/core/kit';

/** Tensors by name; a Map keeps its order in the manifest. */
export type NamedTensors = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

/** Options of saveTfjsWeights. */
export interface TfjsSaveOptions {
  /** Written as model.json's `modelTopology` (a Keras topology or a GraphDef as JSON); omitted when not given. */
  modelTopology?: unknown;
  /** model.json's `format`, e.g. 'layers-model' or 'graph-model'; omitted when not given. */
  format?: string;
  /** Largest shard file, in bytes (the tensorflowjs converter's default). @default 4194304 */
  shardSizeBytes?: number;
}

/** What loadTfjsWeights read. */
export interface TfjsWeights {
  /** The tensors, in manifest order; the caller disposes them. */
  weights: Map<string, tf.Tensor>;
  /** model.json's `modelTopology`, when present. */
  modelTopology?: unknown;
  /** model.json's `format`, when present. */
  format?: string;
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: unknown;
  weightsManifest: tf.io.WeightsManifestConfig;
}

const MODEL_JSON = 'model.json';
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/**
 * Writes tensors in the TensorFlow.js model format, the one `tf.io` and the tensorflowjs converter use:
 * `model.json` with a `weightsManifest` ([{ paths, weights: [{ name, shape, dtype }] }]) and the bytes
 * of `tf.io.encodeWeights` cut into `group1-shard{i}of{n}.bin` files of at most `shardSizeBytes`.
 * The folder is replaced as a whole, atomically (core's writeDirAtomic): to add other files next to
 * the weights, call writeTfjsWeights inside your own writeDirAtomic.
 */
export async function saveTfjsWeights(dir: string, named: NamedTensors, options: TfjsSaveOptions = {}): Promise<void> {
  // Encode first: a bad tensor must fail before the folder is touched.
  const encoded = await encode(named, options);
  await writeDirAtomic(dir, (tmp) => writeEncoded(tmp, encoded, options));
}

/** Writes model.json and the shards into an existing folder, without the atomic replacement. */
export async function writeTfjsWeights(dir: string, named: NamedTensors, options: TfjsSaveOptions = {}): Promise<void> {
  await writeEncoded(dir, await encode(named, options), options);
}

async function encode(named: NamedTensors, { shardSizeBytes = 4 * 1024 * 1024 }: TfjsSaveOptions) {
  if (!Number.isInteger(shardSizeBytes) || shardSizeBytes < 1) {
    throw new DistilleryError(`saveTfjsWeights: option 'shardSizeBytes' must be a positive integer, got ${shardSizeBytes}`, 'config');
  }
  const entries = named instanceof Map ? [...named] : Object.entries(named);
  for (const [name, tensor] of entries) {
    if (!(tensor instanceof tf.Tensor) || tensor.isDisposed) {
      throw new DistilleryError(`saveTfjsWeights: '${name}' is not a live tensor`, 'config');
    }
  }
  const { data, specs } = await tf.io.encodeWeights(entries.map(([name, tensor]) => ({ name, tensor })));
  const bytes = new Uint8Array(data);
  const count = Math.ceil(bytes.length / shardSizeBytes);
  const shards = Array.from({ length: count }, (_, i) => ({
    file: `group1-shard${i + 1}of${count}.bin`,
    bytes: bytes.subarray(i * shardSizeBytes, Math.min(bytes.length, (i + 1) * shardSizeBytes)),
  }));
  return { specs, shards };
}

async function writeEncoded(dir: string, encoded: Awaited<ReturnType<typeof encode>>, options: TfjsSaveOptions): Promise<void> {
  const { specs, shards } = encoded;
  for (const shard of shards) await fs.writeFile(path.join(dir, shard.file), shard.bytes);
  const modelJson: ModelJson = {
    ...(options.format === undefined ? {} : { format: options.format }),
    generatedBy: `TensorFlow.js tfjs-core v${tf.version_core} (Distillery)`,
    convertedBy: null,
    ...(options.modelTopology === undefined ? {} : { modelTopology: options.modelTopology }),
    weightsManifest: [{ paths: shards.map((s) => s.file), weights: specs }],
  };
  await fs.writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
}

/**
 * Reads a folder in the TensorFlow.js model format (model.json + its weight shards, as written by
 * saveTfjsWeights, tf.io or the tensorflowjs converter, quantized weights included). Each manifest
 * group's shards are concatenated and decoded with `tf.io.decodeWeights`. A missing shard, or shards
 * whose total size is not what the manifest's weights need, fail naming the files.
 */
export async function loadTfjsWeights(dir: string): Promise<TfjsWeights> {
  const jsonFile = path.join(dir, MODEL_JSON);
  let modelJson: ModelJson;
  try {
    modelJson = JSON.parse(await fs.readFile(jsonFile, 'utf8'));
  } catch (cause) {
    throw new DistilleryError(`loadTfjsWeights: cannot read ${jsonFile}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
  if (!Array.isArray(modelJson?.weightsManifest)) {
    throw new DistilleryError(`loadTfjsWeights: ${jsonFile} has no weightsManifest array`, 'checkpoint');
  }
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const [g, group] of modelJson.weightsManifest.entries()) {
      const where = `${jsonFile} weightsManifest[${g}]`;
      if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
        throw new DistilleryError(`loadTfjsWeights: ${where} needs 'paths' and 'weights' arrays`, 'checkpoint');
      }
      const buffers = await Promise.all(group.paths.map((p, i) => readShard(dir, p, `${where}.paths[${i}]`)));
      const size = buffers.reduce((n, b) => n + b.byteLength, 0);
      const expected = expectedBytes(group.weights);
      if (expected !== undefined && size !== expected) {
        const files = group.paths.map((p, i) => `${path.join(dir, p)} (${buffers[i].byteLength} bytes)`).join(', ');
        throw new DistilleryError(`loadTfjsWeights: the shards of ${where} hold ${size} bytes but its ${group.weights.length} ` +
          `weights need ${expected}: ${files}`, 'checkpoint');
      }
      let decoded: tf.NamedTensorMap;
      try {
        decoded = tf.io.decodeWeights(buffers, group.weights);
      } catch (cause) {
        throw new DistilleryError(`loadTfjsWeights: cannot decode the weights of ${where}: ${(cause as Error).message}`,
          'checkpoint', { cause });
      }
      for (const spec of group.weights) {
        if (weights.has(spec.name)) {
          tf.dispose(Object.values(decoded));
          throw new DistilleryError(`loadTfjsWeights: ${jsonFile} lists weight '${spec.name}' twice`, 'checkpoint');
        }
        weights.set(spec.name, decoded[spec.name]);
      }
    }
  } catch (error) {
    tf.dispose([...weights.values()]);
    throw error;
  }
  return {
    weights,
    ...(modelJson.modelTopology == null ? {} : { modelTopology: modelJson.modelTopology }),
    ...(modelJson.format === undefined ? {} : { format: modelJson.format }),
  };
}

async function readShard(dir: string, relative: unknown, where: string): Promise<ArrayBuffer> {
  if (typeof relative !== 'string' || path.isAbsolute(relative) || relative.split(/[\\/]/).includes('..')) {
    throw new DistilleryError(`loadTfjsWeights: ${where} is ${JSON.stringify(relative)}, not a file inside ${dir}`, 'checkpoint');
  }
  const file = path.join(dir, relative);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DistilleryError(`loadTfjsWeights: ${missing ? 'missing weight shard' : 'cannot read'} ${file} (listed in ${where})`,
      'checkpoint', { cause });
  }
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Bytes the manifest's weights take, or undefined when a string weight makes it data-dependent. */
function expectedBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    if (!(dtype in DTYPE_BYTES)) return undefined;
    total += spec.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  }
  return total;
}
