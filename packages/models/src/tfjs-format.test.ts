import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger } from '@distillery/core';
import { loadTfjsWeights, saveTfjsWeights, writeTfjsWeights } from './tfjs-format.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-tfjs-'));
const modelJson = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 2·3·4 + 5 + 7 float32 values and 3 int32 ones: 36 + 3 = 39 values, 156 bytes. */
const sample = () => new Map<string, tf.Tensor>([
  ['encoder/layer_0/kernel', tf.tensor3d(Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1), [2, 3, 4])],
  ['encoder/layer_0/bias', tf.tensor1d([0.5, -1.25, 3, 1e-8, -7])],
  ['head/weights', tf.tensor1d(Float32Array.from({ length: 7 }, (_, i) => Math.sin(i)))],
  ['vocab/ids', tf.tensor1d([3, -4, 2147483647], 'int32')],
]);

describe('TensorFlow.js model format', () => {
  it('round-trips tensors through several shards, in order, with dtype and topology', async () => {
    const dir = path.join(tmp, 'round-trip');
    const tensors = sample();
    const topology = { class_name: 'Functional', config: { name: 'tiny' } };
    await saveTfjsWeights(dir, tensors, { shardSizeBytes: 40, format: 'layers-model', modelTopology: topology });

    const files = readdirSync(dir).sort();
    expect(files).toEqual(['model.json', ...[1, 2, 3, 4].map((i) => `group1-shard${i}of4.bin`)].sort());
    expect([1, 2, 3, 4].map((i) => statSync(path.join(dir, `group1-shard${i}of4.bin`)).size)).toEqual([40, 40, 40, 36]);
    const json = modelJson(dir);
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology).toEqual(topology);
    expect(json.weightsManifest).toEqual([{
      paths: [1, 2, 3, 4].map((i) => `group1-shard${i}of4.bin`),
      weights: [
        { name: 'encoder/layer_0/kernel', shape: [2, 3, 4], dtype: 'float32' },
        { name: 'encoder/layer_0/bias', shape: [5], dtype: 'float32' },
        { name: 'head/weights', shape: [7], dtype: 'float32' },
        { name: 'vocab/ids', shape: [3], dtype: 'int32' },
      ],
    }]);

    const before = tf.memory().numTensors;
    const loaded = await loadTfjsWeights(dir);
    expect([...loaded.weights.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const got = loaded.weights.get(name)!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(Array.from(got.dataSync()), name).toEqual(Array.from(t.dataSync()));
    }
    expect(loaded.modelTopology).toEqual(topology);
    expect(loaded.format).toBe('layers-model');
    tf.dispose([...loaded.weights.values()]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...tensors.values()]);
  });

  it('takes a record, writes one shard by default and replaces an earlier save as a whole', async () => {
    const dir = path.join(tmp, 'replace');
    const tensors = sample();
    await saveTfjsWeights(dir, tensors, { shardSizeBytes: 16 });
    expect(readdirSync(dir)).toHaveLength(1 + 10);
    const record = { a: tf.scalar(2), b: tf.tensor2d([[1, 2], [3, 4]]) };
    await saveTfjsWeights(dir, record);
    expect(readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const json = modelJson(dir);
    expect(json).not.toHaveProperty('modelTopology');
    expect(json.generatedBy).toMatch(/^TensorFlow\.js tfjs-core v4\./);
    const loaded = await loadTfjsWeights(dir);
    expect(loaded.weights.get('b')!.arraySync()).toEqual([[1, 2], [3, 4]]);
    expect(loaded.weights.get('a')!.shape).toEqual([]);
    expect(loaded.modelTopology).toBeUndefined();
    tf.dispose([...loaded.weights.values(), ...Object.values(record), ...tensors.values()]);
  });

  it('writeTfjsWeights adds the files to an existing folder, next to others', async () => {
    const dir = path.join(tmp, 'shared');
    rmSync(dir, { recursive: true, force: true });
    await saveTfjsWeights(dir, { x: tf.ones([3]) });
    writeFileSync(path.join(dir, 'config.json'), '{}');
    const y = tf.zeros([2, 2]);
    await writeTfjsWeights(dir, new Map([['y', y]]));
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'group1-shard1of1.bin', 'model.json']);
    const loaded = await loadTfjsWeights(dir);
    expect([...loaded.weights.keys()]).toEqual(['y']);
    tf.dispose([...loaded.weights.values(), y]);
  });

  it('fails naming the file: missing shard, wrong total size, missing or bad model.json', async () => {
    const dir = path.join(tmp, 'broken');
    const tensors = sample();
    await saveTfjsWeights(dir, tensors, { shardSizeBytes: 64 });
    tf.dispose([...tensors.values()]);
    const before = tf.memory().numTensors;

    truncateSync(path.join(dir, 'group1-shard2of3.bin'), 60);
    await expect(loadTfjsWeights(dir)).rejects.toThrow(
      /shards of .*model\.json weightsManifest\[0\] hold 152 bytes but its 4 weights need 156: .*group1-shard1of3\.bin \(64 bytes\), .*group1-shard2of3\.bin \(60 bytes\)/);

    unlinkSync(path.join(dir, 'group1-shard2of3.bin'));
    await expect(loadTfjsWeights(dir)).rejects.toThrow(
      /missing weight shard .*group1-shard2of3\.bin \(listed in .*model\.json weightsManifest\[0\]\.paths\[1\]\)/);

    const json = modelJson(dir);
    json.weightsManifest[0].paths[1] = '../elsewhere.bin';
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadTfjsWeights(dir)).rejects.toThrow(/paths\[1\] is "\.\.\/elsewhere\.bin", not a file inside/);

    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {} }));
    await expect(loadTfjsWeights(dir)).rejects.toThrow(/model\.json has no weightsManifest array/);
    writeFileSync(path.join(dir, 'model.json'), '{');
    await expect(loadTfjsWeights(dir)).rejects.toThrow(DistilleryError);
    await expect(loadTfjsWeights(path.join(tmp, 'nowhere'))).rejects.toThrow(/cannot read .*nowhere.*model\.json/);
    expect(tf.memory().numTensors).toBe(before);

    const t = tf.ones([2]);
    await expect(saveTfjsWeights(path.join(tmp, 'bad-option'), { t }, { shardSizeBytes: 0 }))
      .rejects.toThrow(/'shardSizeBytes' must be a positive integer/);
    t.dispose();
    await expect(saveTfjsWeights(path.join(tmp, 'disposed'), { t })).rejects.toThrow(/'t' is not a live tensor/);
    expect(() => statSync(path.join(tmp, 'disposed'))).toThrow();
  });
});
