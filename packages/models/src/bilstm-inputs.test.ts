// BiLSTM sizes past their bounds or the memory they need, and damaged config.json files: refused
// with the key, the value and the bytes, before any weight is allocated, on every path that builds one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger } from '@distillery/core';
import { BiLstmClassifier, BILSTM_MODEL_TYPE } from './bilstm.js';
import { bilstm } from './bilstm-plugin.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-bilstm-inputs-'));
beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = { vocabSize: 20, numLabels: 3, embeddingSize: 6, units: 5, denseSize: 7 };
const env = { seed: 1, logger: silentLogger };
let folders = 0;
const folderWith = (config: string) => {
  const dir = path.join(tmp, `case-${++folders}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'config.json'), config);
  return dir;
};

describe('BiLSTM sizes', () => {
  it.each([
    ['units past its bound', { units: 1e6 }, /units: expected an integer <= 16384, got 1000000/],
    ['embeddingSize past its bound', { embeddingSize: 2 ** 20 }, /embeddingSize: expected an integer <= 65536/],
    ['denseSize past its bound', { denseSize: 1e9 }, /denseSize: expected an integer <= 65536/],
    ['vocabSize past its bound', { vocabSize: 1e9 }, /vocabSize: expected an integer <= 16777216/],
    ['numLabels past its bound', { numLabels: 2 ** 21 }, /numLabels: expected an integer <= 1048576/],
    ['the recurrent block of 12000 units', { units: 12000 },
      /weight 'recurrent block of a forward' would hold 8·units × 2·units = 2304000000 elements \(8\.6 GiB as float32\), more than a tensor may hold .*units 12000/],
    ['an embedding past 2^31 - 1 elements', { vocabSize: 2 ** 24, embeddingSize: 256 },
      /weight 'embedding' would hold vocabSize × embeddingSize = 4294967296 elements .*vocabSize 16777216, .*embeddingSize 256/],
    ['more than 4 GiB in all', { vocabSize: 2 ** 21, embeddingSize: 600 },
      /the config needs 1\d{9} parameters, 4\.\d GiB as float32, more than the 4\.0 GiB a model may take .*vocabSize 2097152/],
  ])('%s is refused by the constructor, the plugin and a saved folder', async (_, sizes, pattern) => {
    const before = tf.memory().numTensors;
    expect(() => new BiLstmClassifier({ ...base, ...sizes })).toThrow(pattern);
    expect(() => bilstm.create({ ...base, ...sizes }, env)).toThrow(pattern);
    const dir = folderWith(JSON.stringify({ model_type: BILSTM_MODEL_TYPE, ...base, ...sizes }));
    await expect(BiLstmClassifier.load(dir)).rejects.toThrow(pattern);
    await expect(bilstm.load!(dir, env)).rejects.toThrow(new RegExp(`${dir}/config\\.json`));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('describe() checks the sizes once the teacher gives the vocabulary', () => {
    const teacher = { name: 't', info: { numLayers: 1, hiddenSize: 4, numHeads: 1, vocabSize: 2 ** 24, numLabels: 2 } };
    expect(() => bilstm.describe!({ embeddingSize: 256 }, { teacher } as never)).toThrow(/weight 'embedding' would hold/);
    expect(bilstm.describe!({ embeddingSize: 256 }, {} as never)?.info.hiddenSize).toBe(300);
  });
});

describe('a BiLSTM config.json', () => {
  it.each(['null', '[]', '"x"', '3'])('%s is refused naming the file', async (text) => {
    const dir = folderWith(text);
    const error = await BiLstmClassifier.load(dir).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as Error).message).toMatch(new RegExp(`${dir}/config\\.json holds .*, expected an object with model_type 'distillery-bilstm'`));
    // Not a BiLSTM folder to the plugin: another plugin may read it.
    expect(await bilstm.load!(dir, env)).toBeUndefined();
  });
});
