// The model plugins read their own folders (and only those) and their models export themselves:
// what `distillery inspect/eval/export` rely on instead of knowing the model types.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelDetails, selectBackend, silentLogger, type Teacher } from '@distillery/core';
import { BertModel } from './bert/bert-model.js';
import { bertStudent } from './bert/plugins.js';
import { BiLstmClassifier } from './bilstm.js';
import { bilstm } from './bilstm-plugin.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-folders-'));
const env = { seed: 1, logger: silentLogger };
const values = (m: Teacher) => (m as BertModel).trainableVariables.map((v) => Array.from(v.dataSync()));
const exported = async (model: Teacher, format: 'hf' | 'tfjs', name: string) => {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  const result = await modelDetails(model).exportTo!(format, dir);
  return { dir, note: result?.note };
};

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("model plugins' load() and their models' exportTo()", () => {
  it("'bert' reads the hf and tfjs folders its models export, with labels and parts; 'bilstm' declines them", async () => {
    const before = tf.memory().numTensors;
    const bert = new BertModel({
      vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
      max_position_embeddings: 16, id2label: { 0: 'neg', 1: 'pos' },
    }, { heads: ['classification', 'mlm'], seed: 2 });
    expect(bert.labelNames()).toEqual(['neg', 'pos']);
    const parts = bert.parameterParts();
    expect(Object.keys(parts).sort()).toEqual(['classification head', 'embeddings', 'encoder', 'masked-LM head']);
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBe(bert.parameterCount());
    // Embeddings: words, positions, two token types, LayerNorm scale and shift.
    expect(parts.embeddings).toBe(20 * 8 + 16 * 8 + 2 * 8 + 2 * 8);
    for (const [format, id] of [['hf', 'hf'], ['tfjs', 'tfjs']] as const) {
      const { dir, note } = await exported(bert, format, `bert-${format}`);
      expect(note).toBeUndefined();
      expect(await bilstm.load!(dir, env)).toBeUndefined();
      const loaded = await bertStudent.load!(dir, env);
      expect(loaded?.format.id).toBe(id);
      expect(values(loaded!.model)).toEqual(values(bert));
      expect(modelDetails(loaded!.model).heads).toEqual(['classification', 'mlm']);
      loaded!.model.dispose!();
    }
    expect(bert.savedFormat.description).toBe('Hugging Face BERT folder (config.json + model.safetensors)');
    bert.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'bilstm' reads save()'s folder and its tfjs export ('distillery/bilstm'); 'bert' declines them", async () => {
    const before = tf.memory().numTensors;
    const lstm = new BiLstmClassifier({ vocabSize: 12, numLabels: 3, embeddingSize: 4, units: 3, denseSize: 5, seed: 7 });
    expect(lstm.parameterParts()).toEqual({
      embedding: 12 * 4, lstm: 2 * (4 * 12 + 3 * 12 + 12), dense: 6 * 5 + 5, classifier: 5 * 3 + 3,
    });
    const saved = path.join(tmp, 'lstm-saved');
    await lstm.save(saved);
    const tfjs = await exported(lstm, 'tfjs', 'lstm-tfjs');
    expect(JSON.parse(readFileSync(path.join(tfjs.dir, 'model.json'), 'utf8')).format).toBe('distillery/bilstm');
    const hf = await exported(lstm, 'hf', 'lstm-hf');
    expect(hf.note).toBe('a BiLSTM: its own config; transformers has no class for it');
    expect(readFileSync(path.join(hf.dir, 'model.safetensors')).equals(readFileSync(path.join(saved, 'model.safetensors')))).toBe(true);
    for (const [dir, id] of [[saved, 'bilstm'], [tfjs.dir, 'tfjs']] as const) {
      expect(await bertStudent.load!(dir, env)).toBeUndefined();
      const loaded = await bilstm.load!(dir, env);
      expect(loaded?.format.id).toBe(id);
      expect(values(loaded!.model)).toEqual(values(lstm));
      loaded!.model.dispose!();
    }
    lstm.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a folder of neither (no config.json, or another model_type) is declined by both; a broken own folder fails', async () => {
    const other = path.join(tmp, 'other');
    mkdirSync(other);
    expect([await bertStudent.load!(other, env), await bilstm.load!(other, env)]).toEqual([undefined, undefined]);
    writeFileSync(path.join(other, 'config.json'), JSON.stringify({ model_type: 'roberta' }));
    expect([await bertStudent.load!(other, env), await bilstm.load!(other, env)]).toEqual([undefined, undefined]);
    writeFileSync(path.join(other, 'config.json'), JSON.stringify({ model_type: 'distillery-bilstm', vocabSize: 3, numLabels: 2 }));
    await expect(bilstm.load!(other, env)).rejects.toThrow(/model\.safetensors/);
  });
});
