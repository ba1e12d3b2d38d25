// A model type the CLI has never heard of: its plugin's load() makes its folders readable by
// `distillery inspect` and `eval` (and its last/ checkpoints rebuildable) with no change to the CLI.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { createDistillery, evaluate, selectBackend, silentLogger } from '@distillery/core';
import { MlpClassifier } from '@distillery/core/testing';
import { loadTextDataset, textBatchSource } from '@distillery/data';
import { Tokenizer } from '@distillery/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryIo, sentimentJsonl, tinyPipeline, tinyTokenizerJson, WORDS } from './fixtures.test-util.js';
import { loadModel } from './internals/model-dir.js';
import { main } from './main.js';
import { runPipeline } from './run-pipeline.js';
import { tinyMlp } from './tiny-mlp-plugin.test-util.js';

const PLUGIN = fileURLToPath(new URL('./tiny-mlp-plugin.test-util.ts', import.meta.url));
const io = () => memoryIo(tinyPipeline());
let root: string;
let mlpDir: string;
let dataFile: string;
let mlp: MlpClassifier;

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = mkdtempSync(path.join(os.tmpdir(), 'distillery-cli-third-party-'));
  mlp = new MlpClassifier({ vocabSize: 5 + WORDS.length, embeddingSize: 8, hiddenSizes: [8], numLabels: 2, seed: 5 });
  mlpDir = path.join(root, 'mlp');
  await mlp.save(mlpDir);
  writeFileSync(path.join(mlpDir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson(WORDS)));
  dataFile = path.join(root, 'dev.jsonl');
  writeFileSync(dataFile, sentimentJsonl(20));
});

describe('a third-party model plugin with load()', () => {
  it('without its module, no installed plugin claims the folder: the error names who was asked and --plugin', async () => {
    const out = io();
    expect(await main(['inspect', mlpDir], out)).toBe(2);
    expect(out.err).toContain(`error: ${mlpDir}: not a model folder any model plugin reads (asked: student 'bilstm', student 'bert')`);
    expect(out.err).toContain('(--plugin <module>)');
  });

  it('inspect --plugin <module> reads its folder: format, name, shape, parameter count, features, kind', async () => {
    const out = io();
    expect(await main(['inspect', mlpDir, '--plugin', PLUGIN], out), out.err).toBe(0);
    const count = mlp.trainableVariables.reduce((n, v) => n + v.size, 0);
    expect(count).toBe(17 * 8 + 8 * 8 + 8 + 8 * 2 + 2);
    expect(out.out).toContain('format:      tiny MLP folder (config.json + model.safetensors)');
    expect(out.out).toContain('model:       mlp(8-8)');
    expect(out.out).toContain('shape:       1 layer(s), hidden 8, 1 attention head(s), vocabulary 17, 2 label(s)\n');
    expect(out.out).toContain(`parameters:  ${count}\n`);
    expect(out.out).toContain('emits:       logits');
    const json = io();
    expect(await main(['inspect', mlpDir, '--json', '--plugin', PLUGIN], json)).toBe(0);
    const info = JSON.parse(json.out);
    expect([info.kind, info.format, info.parameters, info.config]).toEqual(['tiny-mlp', 'tiny-mlp', count, { model_type: 'distillery-mlp', ...mlp.config }]);
    expect(info.heads).toBeUndefined();
  });

  it('eval --plugin <module> gives the metrics core evaluate() gives on the saved model', async () => {
    const out = io();
    expect(await main(['eval', mlpDir, '--data', dataFile, '--json', '--plugin', PLUGIN], out), out.err).toBe(0);
    const { examples } = await loadTextDataset(dataFile);
    const expected = evaluate(mlp, textBatchSource(examples, new Tokenizer(path.join(mlpDir, 'tokenizer.json'))), 64);
    expect(JSON.parse(out.out).metrics).toEqual(expected);
  });

  it('export refuses a model without exportTo(), naming it', async () => {
    const out = io();
    expect(await main(['export', mlpDir, '--format', 'hf', '--out', path.join(root, 'out'), '--plugin', PLUGIN], out)).toBe(2);
    expect(out.err).toContain('mlp(8-8) cannot be exported: its model gives no exportTo()');
  });

  it('a last/ checkpoint of a stage whose student it built is rebuilt by it (programmatic plugins)', async () => {
    const tokenizer = new Tokenizer(path.join(mlpDir, 'tokenizer.json'));
    const { examples } = await loadTextDataset(dataFile);
    const run = path.join(root, 'run');
    await runPipeline({
      distillery: createDistillery({ logger: silentLogger, plugins: [tinyMlp] }), out: run, backend: 'cpu', report: false, compare: false,
      stages: [{
        name: 'mlp', student: { use: 'tiny-mlp', options: { vocabSize: tokenizer.vocabSize, numLabels: 2 } },
        losses: [{ use: 'supervised' }], data: { train: textBatchSource(examples, tokenizer) }, batchSize: 8, maxSteps: 2,
      }],
    });
    const before = tf.memory().numTensors;
    const rebuilt = await loadModel(path.join(run, 'checkpoints', 'mlp', 'last'), { plugins: [tinyMlp] });
    const saved = await MlpClassifier.load(path.join(run, 'students', 'mlp'));
    expect([rebuilt.kind, rebuilt.checkpoint?.rebuilt, rebuilt.format]).toEqual(['tiny-mlp', true, 'checkpoint']);
    const values = (m: { trainableVariables?: tf.Variable[] }) => m.trainableVariables!.map((v) => Array.from(v.dataSync()));
    expect(values(rebuilt.model as MlpClassifier)).toEqual(values(saved));
    rebuilt.model.dispose?.();
    saved.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Without its plugin, the error lists the student plugins that are registered.
    await expect(loadModel(path.join(run, 'checkpoints', 'mlp', 'last'), { plugins: [] })).rejects.toThrow(
      /cannot rebuild its student \{"use":"tiny-mlp",.*\} \(only \{ use: \(no student plugin\) \} can be/);
  });
});
