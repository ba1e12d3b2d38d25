// Damaged and hostile Hugging Face folders: every one is refused with a DistilleryError naming the
// file and what is wrong; shards outside the folder are never opened; config sizes are checked
// against sane bounds and the memory they need before anything is read or allocated.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger } from '@distillery/core';
import { decodeSafetensors, encodeSafetensors } from '@distillery/core/kit';
import type { StoredTensor } from '@distillery/core/kit';
import { BertModel } from './bert-model.js';
import { BERT_DEFAULTS, plannedBertWeights, resolveBertConfig } from './config.js';
import { describeBert } from './describe.js';
import { loadBertFolder } from './folder.js';
import { loadBertFromHf, saveBertToHf } from './hf-checkpoint.js';
import { TINY } from './bert-fixtures.test.util.js';

let root: string;
/** config.json and model.safetensors of a tiny model, and its tensors split into two shards. */
let config: Record<string, unknown>;
let single: Uint8Array;
let shards: [Record<string, StoredTensor>, Record<string, StoredTensor>];

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-hf-inputs-'));
  const model = new BertModel(TINY, { heads: ['classification'] });
  const dir = path.join(root, 'saved');
  await saveBertToHf(model, dir);
  model.dispose();
  config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
  single = new Uint8Array(await fs.readFile(path.join(dir, 'model.safetensors')));
  const entries = Object.entries(decodeSafetensors(single).tensors);
  shards = [Object.fromEntries(entries.slice(0, 10)), Object.fromEntries(entries.slice(10))];
});
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

let folders = 0;
/** A new folder with these files (strings and bytes written as they are, other values as JSON). */
async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = path.join(root, `case-${++folders}`);
  await fs.mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content));
  }
  return dir;
}

/** A weight_map putting the first shard's tensors in `first` and the second's in `second`. */
const weightMap = (first: string, second: string) => Object.fromEntries([
  ...Object.keys(shards[0]).map((n) => [n, first]), ...Object.keys(shards[1]).map((n) => [n, second]),
]);
const shardBytes = (i: 0 | 1) => encodeSafetensors(shards[i], { format: 'pt' });

/** The DistilleryError loading `dir` fails with; its message must match every pattern. */
async function refused(dir: string, ...patterns: RegExp[]): Promise<string> {
  const error = await loadBertFromHf(dir).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DistilleryError);
  for (const pattern of patterns) expect((error as Error).message).toMatch(pattern);
  return (error as Error).message;
}

describe('config.json', () => {
  it.each([['null', /is null|got null/], ['[]', /an empty list/], ['"bert"', /"bert"/], ['7', /got 7/]])(
    'a config.json of %s is refused by the loader, the folder reader and describe()', async (text, pattern) => {
      const dir = await folder({ 'config.json': text, 'model.safetensors': single });
      await refused(dir, /config\.json: expected an object/, pattern);
      await expect(loadBertFolder(dir, { logger: silentLogger })).rejects.toThrow(/config\.json: expected an object/);
      expect(() => describeBert({ checkpoint: dir }, {})).toThrow(/config\.json holds .*expected a BERT config object/);
    });

  it('a valid folder still loads (single file and shards)', async () => {
    const one = await folder({ 'config.json': config, 'model.safetensors': single });
    (await loadBertFromHf(one)).dispose();
    const two = await folder({
      'config.json': config, 'a.safetensors': shardBytes(0), 'b.safetensors': shardBytes(1),
      'model.safetensors.index.json': { metadata: {}, weight_map: weightMap('a.safetensors', 'b.safetensors') },
    });
    (await loadBertFromHf(two)).dispose();
  });
});

describe('model.safetensors.index.json', () => {
  const index = (content: unknown) => folder({ 'config.json': config, 'a.safetensors': shardBytes(0), 'b.safetensors': shardBytes(1),
    'model.safetensors.index.json': content });

  it.each([
    ['{}', '{}', /weight_map is nothing, expected an object of tensor name → shard file/],
    ['""', '""', /expected an object with a weight_map .*got ""/],
    ['an empty file', '', /model\.safetensors\.index\.json is not valid JSON/],
    ['null', 'null', /expected an object with a weight_map .*got null/],
    ['a list', '[1]', /expected an object with a weight_map .*got a list of 1/],
    ['weight_map []', { weight_map: [] }, /weight_map is an empty list, expected an object/],
    ['weight_map "x"', { weight_map: 'x' }, /weight_map is "x", expected an object/],
    ['weight_map null', { weight_map: null }, /weight_map is null, expected an object/],
    ['weight_map {}', { weight_map: {} }, /weight_map is empty: it names no tensor and no shard/],
    ['a shard that is a number', { weight_map: { 'bert.x': 5 } }, /weight_map\['bert\.x'\] is 5, expected the file name of a shard/],
    ['a shard that is ""', { weight_map: { 'bert.x': '' } }, /weight_map\['bert\.x'\] is "", expected the file name/],
  ])('%s is refused', async (_, content, pattern) => {
    await refused(await index(content), /model\.safetensors\.index\.json/, pattern);
  });

  it('a missing shard is refused naming it', async () => {
    await refused(await index({ weight_map: weightMap('a.safetensors', 'c.safetensors') }),
      /weight_map names shard "c\.safetensors", which cannot be read: ENOENT/);
  });

  it('a tensor stored in two shards is refused', async () => {
    const dir = await folder({
      'config.json': config, 'a.safetensors': shardBytes(0), 'b.safetensors': encodeSafetensors({ ...shards[1], ...shards[0] }),
      'model.safetensors.index.json': { weight_map: weightMap('a.safetensors', 'b.safetensors') },
    });
    await refused(dir, /tensor 'bert\.embeddings\.[\w.]+' is stored twice, in .*a\.safetensors and .*b\.safetensors/);
  });
});

describe('shards outside the folder are refused before any is opened', () => {
  // Each case points at a valid shard outside the folder: had it been opened, the model would load.
  let outside: string;
  beforeAll(async () => {
    outside = path.join(root, 'outside');
    await fs.mkdir(outside, { recursive: true });
    await fs.writeFile(path.join(outside, 'b.safetensors'), shardBytes(1));
  });
  const withShard = (second: string, extra: Record<string, unknown> = {}) => folder({
    'config.json': config, 'a.safetensors': shardBytes(0), ...extra,
    'model.safetensors.index.json': { weight_map: weightMap('a.safetensors', second) },
  });

  it.each([
    ['../outside/b.safetensors', /"\.\.\/outside\/b\.safetensors", which lies outside/],
    ['sub/../../outside/b.safetensors', /which lies outside/],
    ['../../etc/passwd', /"\.\.\/\.\.\/etc\/passwd", which lies outside/],
    ['.', /which lies outside/],
  ])('a relative path %s', async (shard, pattern) => {
    await refused(await withShard(shard), pattern);
  });

  it('absolute paths', async () => {
    await refused(await withShard(path.join(root, 'outside', 'b.safetensors')), /an absolute path; shards must lie inside/);
    await refused(await withShard('/etc/passwd'), /"\/etc\/passwd", an absolute path/);
  });

  it('a link inside the folder to a file outside it, and a linked subfolder', async () => {
    const dir = await withShard('b.safetensors');
    await fs.symlink(path.join(outside, 'b.safetensors'), path.join(dir, 'b.safetensors'));
    await refused(dir, /weight_map names shard "b\.safetensors", a link to .*outside\/b\.safetensors, which lies outside/);
    const viaDir = await withShard('sub/b.safetensors');
    await fs.symlink(outside, path.join(viaDir, 'sub'));
    await refused(viaDir, /"sub\/b\.safetensors", a link to .*outside\/b\.safetensors/);
  });

  it('a link that stays inside the folder, and a Hugging Face cache snapshot linking into its blobs/, are read', async () => {
    const dir = await withShard('b.safetensors', { 'store/b.bin': shardBytes(1) });
    await fs.symlink(path.join(dir, 'store', 'b.bin'), path.join(dir, 'b.safetensors'));
    (await loadBertFromHf(dir)).dispose();

    // models--org--name/{blobs/<sha>, snapshots/<rev>/<file> -> ../../blobs/<sha>}, as huggingface_hub writes it.
    const repo = path.join(root, 'hub', 'models--org--tiny');
    const snapshot = path.join(repo, 'snapshots', 'abc123');
    await fs.mkdir(path.join(repo, 'blobs'), { recursive: true });
    await fs.mkdir(snapshot, { recursive: true });
    const files: Record<string, Uint8Array | string> = {
      'config.json': JSON.stringify(config), 'a.safetensors': shardBytes(0), 'b.safetensors': shardBytes(1),
      'model.safetensors.index.json': JSON.stringify({ weight_map: weightMap('a.safetensors', 'b.safetensors') }),
    };
    for (const [name, content] of Object.entries(files)) {
      await fs.writeFile(path.join(repo, 'blobs', `sha-${name}`), content);
      await fs.symlink(path.join('..', '..', 'blobs', `sha-${name}`), path.join(snapshot, name));
    }
    (await loadBertFromHf(snapshot)).dispose();
  });
});

describe('config sizes are checked before anything is read or allocated', () => {
  // No weights in these folders: a config error must come first.
  it.each([
    ['vocab_size', 1e9, /vocab_size: expected an integer <= 16777216, got 1000000000/],
    ['num_hidden_layers', 1e6, /num_hidden_layers: expected an integer <= 1024, got 1000000/],
    ['hidden_size', 2 ** 31, /hidden_size: expected an integer <= 65536, got 2147483648/],
    ['intermediate_size', 1e9, /intermediate_size: expected an integer <= 262144, got 1000000000/],
    ['max_position_embeddings', 1e9, /max_position_embeddings: expected an integer <= 131072, got 1000000000/],
    ['num_attention_heads', 1e6, /num_attention_heads: expected an integer <= 1024, got 1000000/],
    ['type_vocab_size', 1e6, /type_vocab_size: expected an integer <= 1024/],
    ['num_labels', 1e9, /num_labels: expected an integer <= 1048576/],
    ['vocab_size', 1e300, /vocab_size: expected an integer/],
  ])('%s %d is past its bound', async (key, value, pattern) => {
    const dir = await folder({ 'config.json': { ...config, [key]: value, ...(key === 'num_labels' ? { id2label: undefined } : {}) } });
    await refused(dir, /config\.json/, pattern);
  });

  it.each([
    ['one weight past 2^31 - 1 elements', { vocab_size: 2 ** 24, hidden_size: 1024, num_attention_heads: 16 },
      /weight 'bert\.embeddings\.word_embeddings\.weight' would hold vocab_size × hidden_size = 17179869184 elements \(64\.0 GiB as float32\), more than a tensor may hold \(2147483647\)/],
    ['positions × width', { max_position_embeddings: 131072, hidden_size: 32768, num_attention_heads: 16 },
      /weight 'bert\.embeddings\.position_embeddings\.weight' would hold max_position_embeddings × hidden_size = 4294967296 elements/],
    ['more than 4 GiB in all', { hidden_size: 4096, num_hidden_layers: 128, intermediate_size: 16384, num_attention_heads: 32 },
      /the config needs 25810473013 parameters, 96\.2 GiB as float32, more than the 4\.0 GiB a model may take .*hidden_size 4096, num_hidden_layers 128, intermediate_size 16384/],
  ])('%s is refused with the sizes and the memory', async (_, sizes, pattern) => {
    const dir = await folder({ 'config.json': { ...config, ...sizes } });
    await refused(dir, /config\.json/, pattern);
    // The same check guards a model built from a config and the plugins' describe().
    expect(() => new BertModel({ ...TINY, ...sizes })).toThrow(pattern);
    expect(() => describeBert({ config: { ...TINY, ...sizes } }, {})).toThrow(pattern);
  });

  it('the planned weights count what a model with both heads holds', () => {
    const model = new BertModel({ ...TINY, num_hidden_layers: 3 }, { heads: ['classification', 'mlm'] });
    const planned = plannedBertWeights(model.config).reduce((n, w) => n + w.elements * (w.copies ?? 1), 0);
    expect(planned).toBe(model.parameterCount());
    model.dispose();
  });

  it('bert-base and bert-large sizes pass (resolved without allocating)', () => {
    expect(resolveBertConfig({}).vocab_size).toBe(BERT_DEFAULTS.vocab_size);
    const large = resolveBertConfig({ hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096 });
    expect(large.hidden_size).toBe(1024);
  });
});
