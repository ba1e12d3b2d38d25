import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, silentLogger, type Batch, type Feature } from '@distillery/core';
import { BertModel, loadBertFromTfjs, saveBertToTfjs } from '../index.js';

const config = {
  vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24,
  max_position_embeddings: 16, num_labels: 3,
};
const features = new Set<Feature>(['logits', 'mlmLogits', 'hidden']);
const batch = (): Batch => ({
  inputIds: tf.tensor2d([[2, 5, 9, 3, 0], [2, 7, 3, 0, 0]], [2, 5], 'int32'),
  attentionMask: tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], [2, 5], 'int32'),
});

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

describe('BertModel in the TensorFlow.js format', () => {
  it('round-trips every weight, both heads and the outputs exactly, across several shards', async () => {
    const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'bert-tfjs-')), 'model');
    const model = new BertModel(config, { heads: ['classification', 'mlm'], seed: 3 });
    await saveBertToTfjs(model, dir, { shardSizeBytes: 8192 });
    const files = await fs.readdir(dir);
    expect(files).toContain('model.json');
    expect(files).toContain('config.json');
    expect(files.filter((f) => f.endsWith('.bin')).length).toBeGreaterThan(1);
    const loaded = await loadBertFromTfjs(dir);
    expect(loaded.heads).toEqual(['classification', 'mlm']);
    expect(loaded.parameterCount()).toBe(model.parameterCount());
    const b = batch();
    const [a, c] = [model, loaded].map((m) => m.forward(b, features));
    for (const f of ['logits', 'mlmLogits'] as const) expect(Array.from(c[f]!.dataSync())).toEqual(Array.from(a[f]!.dataSync()));
    expect(Array.from(c.hidden![2].dataSync())).toEqual(Array.from(a.hidden![2].dataSync()));
    tf.dispose([a as never, c as never, b as never]);
    model.dispose();
    loaded.dispose();
  });

  it('refuses a folder of another format and names a weight of the wrong shape', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-tfjs-'));
    const model = new BertModel(config, { seed: 1 });
    const dir = path.join(root, 'm');
    await saveBertToTfjs(model, dir);
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...json, format: 'layers-model' }));
    await expect(loadBertFromTfjs(dir)).rejects.toThrow(/format "layers-model", expected 'distillery-bert'/);
    // A config that disagrees with the stored weights: the model is built wider than they are.
    json.modelTopology.config.intermediate_size = 30;
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadBertFromTfjs(dir)).rejects.toThrow(/'bert\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[16, 24\], the model needs \[16, 30\]/);
    model.dispose();
  });
});
