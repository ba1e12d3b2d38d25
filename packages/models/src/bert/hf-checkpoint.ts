import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describeValue, DistilleryError, silentLogger } from '@distillery/core';
import { decodeSafetensors, encodeSafetensors, shapeText, writeDirAtomic, writeFileAtomic } from '@distillery/core/kit';
import type { Logger } from '@distillery/core';
import type { StoredTensor } from '@distillery/core/kit';
import { BertModel } from './bert-model.js';
import { checkBertConfigKeys, headsFromArchitectures, resolveBertConfig, toHfConfigJson } from './config.js';
import type { BertConfigInput, BertHead } from './config.js';

/** How loadBertFromHf builds the model. */
export interface LoadBertOptions {
  /** Heads to build. @default the heads whose tensors the checkpoint holds, else those its `architectures` name */
  heads?: readonly BertHead[];
  /** Heads to initialise randomly when the checkpoint lacks them (a pretrained encoder about to be fine-tuned). @default [] */
  initHeads?: readonly BertHead[];
  /** Config keys that override config.json, as `from_pretrained(dir, num_labels=3)` does. */
  config?: BertConfigInput;
  /** Checkpoint tensor-name prefixes to skip instead of reporting them as unexpected. @default [] */
  ignore?: readonly string[];
  /** Seeds the weights not read from the checkpoint. @default 42 */
  seed?: number;
  /** Told about tensors of parts the model does not build (e.g. a pooler or NSP head). @default silentLogger */
  logger?: Logger;
  /** Read NaN and ±Infinity weights instead of failing on the first, naming its tensor. @default false */
  allowNonFinite?: boolean;
}

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Buffers and tied copies HF may store that carry no weight of their own. */
const IGNORED = [/(^|\.)position_ids$/, /^cls\.predictions\.decoder\.(weight|bias)$/];

/** Known Hugging Face parts, by the head that owns them ('encoder' is always built). */
function partOf(name: string): 'encoder' | 'pooler' | BertHead | 'nsp' | undefined {
  if (/^bert\.(embeddings|encoder)\./.test(name)) return 'encoder';
  if (name.startsWith('bert.pooler.')) return 'pooler';
  if (name.startsWith('classifier.')) return 'classification';
  if (name.startsWith('cls.predictions.')) return 'mlm';
  if (name.startsWith('cls.seq_relationship.')) return 'nsp';
  return undefined;
}

/** Linear kernels are [out, in] in PyTorch and [in, out] here; embedding tables are [rows, H] in both. */
export function isLinearKernel(name: string): boolean {
  return /(^classifier|\.dense|\.query|\.key|\.value)\.weight$/.test(name);
}

/** Maps a checkpoint name onto this package's names: adds the `bert.` prefix, renames TF-era gamma/beta. */
function canonicalName(name: string): string {
  let n = /^(embeddings|encoder|pooler)\./.test(name) ? `bert.${name}` : name;
  n = n.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
  return n;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    throw new DistilleryError(`loadBertFromHf: cannot read ${file}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
  return parseJson(text, file);
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DistilleryError(`loadBertFromHf: ${file} is not valid JSON: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
}

/** Reads model.safetensors, or the shards a model.safetensors.index.json lists. */
async function readTensors(dir: string, allowNonFinite: boolean): Promise<Record<string, StoredTensor>> {
  const single = path.join(dir, WEIGHTS);
  const bytes = await readIfPresent(single);
  if (bytes) return decodeSafetensors(asBytes(bytes), { source: single, allowNonFinite }).tensors;
  const indexFile = path.join(dir, INDEX);
  const index = await readIfPresent(indexFile);
  if (!index) {
    const present = await fs.readdir(dir).catch(() => [] as string[]);
    const hint = present.includes('pytorch_model.bin') ? ' (it holds pytorch_model.bin: convert it to safetensors first)' : '';
    throw new DistilleryError(`loadBertFromHf: ${dir} holds neither ${WEIGHTS} nor ${INDEX}${hint}`, 'checkpoint');
  }
  const weightMap = readWeightMap(parseJson(index.toString('utf8'), indexFile), indexFile);
  const shards = [...new Set(Object.values(weightMap))];
  // Every shard is checked before any is opened: a bad entry reads nothing.
  const files = await Promise.all(shards.map((shard) => shardFile(dir, shard, indexFile)));
  const tensors: Record<string, StoredTensor> = {};
  const from = new Map<string, string>();
  for (const file of files) {
    const data = await fs.readFile(file).catch((cause: Error) => {
      throw new DistilleryError(`loadBertFromHf: cannot read shard ${file}: ${cause.message}`, 'checkpoint', { cause });
    });
    for (const [name, tensor] of Object.entries(decodeSafetensors(asBytes(data), { source: file, allowNonFinite }).tensors)) {
      if (from.has(name)) {
        throw new DistilleryError(`loadBertFromHf: tensor '${name}' is stored twice, in ${from.get(name)} and ${file}`, 'checkpoint');
      }
      from.set(name, file);
      tensors[name] = tensor;
    }
  }
  return tensors;
}

const asBytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The file's bytes, or undefined when there is none (any other failure names the file). */
async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DistilleryError(`loadBertFromHf: cannot read ${file}: ${(cause as Error).message}`, 'checkpoint', { cause });
  }
}

/** An index's weight_map (tensor name → shard file), validated: an object of file names, not empty. */
function readWeightMap(index: unknown, indexFile: string): Record<string, string> {
  const fail = (why: string) => new DistilleryError(`loadBertFromHf: ${indexFile}: ${why}`, 'checkpoint');
  if (!isRecord(index)) throw fail(`expected an object with a weight_map (tensor name → shard file), got ${describeValue(index)}`);
  const map = index.weight_map;
  if (!isRecord(map)) throw fail(`weight_map is ${describeValue(map)}, expected an object of tensor name → shard file`);
  const entries = Object.entries(map);
  if (!entries.length) throw fail('weight_map is empty: it names no tensor and no shard');
  for (const [name, shard] of entries) {
    if (typeof shard !== 'string' || shard === '') {
      throw fail(`weight_map['${name}'] is ${describeValue(shard)}, expected the file name of a shard`);
    }
  }
  return map as Record<string, string>;
}

/** Whether `file` is `root` itself or lies below it (both absolute, links resolved). */
function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * The real path of a shard an index names, refused unless it lies inside the model folder, also
 * once links are resolved. A Hugging Face cache snapshot (`models--x/snapshots/<rev>/`) holds links
 * into its repository's `blobs/`: those are allowed, and nothing else outside.
 */
async function shardFile(dir: string, shard: string, indexFile: string): Promise<string> {
  const refuse = (why: string, cause?: unknown) => new DistilleryError(
    `loadBertFromHf: ${indexFile}: weight_map names shard ${JSON.stringify(shard)}, ${why}`, 'checkpoint',
    cause === undefined ? undefined : { cause });
  if (shard.includes('\0')) throw refuse('which is not a file name');
  if (path.isAbsolute(shard) || path.win32.isAbsolute(shard)) throw refuse(`an absolute path; shards must lie inside ${dir}`);
  const file = path.resolve(dir, shard);
  if (!isInside(path.resolve(dir), file) || file === path.resolve(dir)) throw refuse(`which lies outside ${dir}`);
  let real: string, realDir: string;
  try {
    realDir = await fs.realpath(dir);
    real = await fs.realpath(file);
  } catch (cause) {
    throw refuse(`which cannot be read: ${(cause as Error).message}`, cause);
  }
  const roots = [realDir];
  if (path.basename(path.dirname(realDir)) === 'snapshots') {
    roots.push(await fs.realpath(path.join(path.dirname(path.dirname(realDir)), 'blobs')).catch(() => realDir));
  }
  if (!roots.some((root) => isInside(root, real) && real !== root)) {
    throw refuse(`a link to ${real}, which lies outside ${dir}`);
  }
  return real;
}

/**
 * Loads a Hugging Face BERT folder (config.json + model.safetensors; F32, F16 or BF16) as
 * BertForSequenceClassification, BertForMaskedLM or a bare BertModel would. Tensor names may carry
 * the `bert.` prefix or not; linear kernels are transposed from PyTorch's [out, in]. Missing,
 * unexpected and misshapen tensors are all reported in one error. The config is validated (sizes
 * against their bounds and the memory they need) before any weight is read; the shards a
 * model.safetensors.index.json names must lie inside `dir` (links too); NaN or infinite weights are
 * refused unless `allowNonFinite`.
 */
export async function loadBertFromHf(dir: string, options: LoadBertOptions = {}): Promise<BertModel> {
  const { initHeads = [], ignore = [], seed = 42, logger = silentLogger, allowNonFinite = false } = options;
  const configFile = path.join(dir, CONFIG);
  const json = await readJson(configFile);
  if (!isRecord(json)) {
    throw new DistilleryError(`${configFile}: expected an object (a Hugging Face BertConfig), got ${describeValue(json)}`, 'checkpoint');
  }
  if (json.model_type !== undefined && json.model_type !== 'bert') {
    throw new DistilleryError(`${configFile}: model_type is '${json.model_type}', expected 'bert'`, 'checkpoint');
  }
  const overrides = options.config ?? {};
  checkBertConfigKeys(overrides, 'loadBertFromHf: options.config');
  const base = { ...json };
  // A new label count replaces the checkpoint's label names, as from_pretrained(dir, num_labels=n) does.
  if (overrides.num_labels !== undefined && overrides.id2label === undefined) { delete base.id2label; delete base.label2id; }
  const config = resolveBertConfig({ ...base, ...overrides }, { who: configFile, lenient: true, where: `${configFile}:` });
  const raw = await readTensors(dir, allowNonFinite);
  const tensors = new Map<string, { stored: StoredTensor; original: string }>();
  for (const [original, stored] of Object.entries(raw)) tensors.set(canonicalName(original), { stored, original });

  const present = new Set([...tensors.keys()].map(partOf));
  const found = (['classification', 'mlm'] as const).filter((h) => present.has(h));
  const heads = options.heads ?? (found.length ? found : headsFromArchitectures(json.architectures as string[] | undefined) ?? []);
  const model = new BertModel(config, { heads, seed, initialize: false });

  const missing: string[] = [];
  const fresh: string[] = [];
  const problems: string[] = [];
  const assignments: [tf.Variable, StoredTensor, boolean][] = [];
  for (const [name, variable] of model.weights) {
    const entry = tensors.get(name);
    if (!entry) {
      const part = partOf(name);
      const head = part === 'pooler' ? 'classification' : part;
      if (head && head !== 'encoder' && head !== 'nsp' && initHeads.includes(head)) fresh.push(name);
      else missing.push(name);
      continue;
    }
    const { stored, original } = entry;
    const transpose = isLinearKernel(name);
    const expected = transpose ? [...variable.shape].reverse() : [...variable.shape];
    if (stored.shape.length !== expected.length || stored.shape.some((d, i) => d !== expected[i])) {
      problems.push(`tensor '${original}' has shape ${shapeText(stored.shape)} but the config needs ${shapeText(expected)}`);
    } else if (stored.data instanceof Int32Array) {
      problems.push(`tensor '${original}' holds integers, expected floating point weights`);
    } else {
      assignments.push([variable, stored, transpose]);
    }
    tensors.delete(name);
  }
  const unexpected: string[] = [];
  const skipped: string[] = [];
  for (const [name, { original }] of tensors) {
    if (IGNORED.some((re) => re.test(name)) || ignore.some((p) => original.startsWith(p) || name.startsWith(p))) continue;
    const part = partOf(name);
    const isUnbuiltPart = part !== undefined && part !== 'encoder' && !model.weights.has(name) &&
      !(part === 'pooler' ? heads.includes('classification') : heads.includes(part as BertHead));
    if (isUnbuiltPart) skipped.push(original);
    else unexpected.push(original);
  }
  if (missing.length || unexpected.length || problems.length) {
    model.dispose();
    const lines = [
      ...(missing.length ? [`missing ${missing.length} tensor(s): ${missing.join(', ')}`] : []),
      ...(unexpected.length ? [`unexpected ${unexpected.length} tensor(s): ${unexpected.join(', ')}`] : []),
      ...problems,
    ];
    const headsMissing = [...new Set(missing.map(partOf).map((p) => (p === 'pooler' ? 'classification' : p))
      .filter((p): p is BertHead => p === 'classification' || p === 'mlm'))];
    if (headsMissing.length) {
      lines.push(`(to start ${headsMissing.join(' and ')} head(s) afresh, pass initHeads: [${headsMissing.map((h) => `'${h}'`).join(', ')}])`);
    }
    throw new DistilleryError(
      `loadBertFromHf: ${dir} does not fit a ${model.name} with heads [${model.heads.join(', ')}]:\n  ${lines.join('\n  ')}`,
      'checkpoint');
  }
  if (skipped.length) logger.warn(`loadBertFromHf: ${dir}: not used by ${model.name}: ${skipped.join(', ')}`);
  model.resetWeights(fresh);
  tf.tidy(() => {
    for (const [variable, stored, transpose] of assignments) {
      const t = tf.tensor(stored.data, stored.shape, 'float32');
      variable.assign(transpose ? tf.transpose(t) : t);
    }
  });
  return model;
}

/**
 * Writes a Hugging Face folder that `BertForSequenceClassification.from_pretrained(dir)` (or
 * BertForMaskedLM) loads: config.json and model.safetensors (F32, PyTorch layout, tied decoder
 * left out as HF does). A new folder appears complete or not at all; in an existing folder each
 * file is replaced atomically and other files (a tokenizer, say) are kept.
 */
export async function saveBertToHf(model: BertModel, dir: string): Promise<void> {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, variable] of model.weights) {
    const t = isLinearKernel(name) ? tf.transpose(variable) : variable;
    try {
      tensors[name] = { shape: [...t.shape], data: new Float32Array(await t.data() as Float32Array) };
    } finally {
      if (t !== variable) t.dispose();
    }
  }
  const config = `${JSON.stringify(toHfConfigJson(model.config, model.heads), null, 2)}\n`;
  const weights = encodeSafetensors(tensors, { format: 'pt' });
  const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
  if (exists) {
    await writeFileAtomic(path.join(dir, WEIGHTS), weights);
    await writeFileAtomic(path.join(dir, CONFIG), config);
  } else {
    await writeDirAtomic(dir, async (tmp) => {
      await fs.writeFile(path.join(tmp, WEIGHTS), weights);
      await fs.writeFile(path.join(tmp, CONFIG), config);
    });
  }
}
