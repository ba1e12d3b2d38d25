import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDistillery, evaluate, selectBackend, silentLogger } from '@distillery/core';
import { textBatchSource, loadTextDataset } from '@distillery/data';
import { BertModel, BiLstmClassifier, Tokenizer, bilstm, loadBertFromTfjs, saveBertToHf, saveBertToTfjs } from '@distillery/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryIo, sentimentJsonl, tinyPipeline, tinyTokenizerJson, WORDS } from './fixtures.test-util.js';
import { loadModel } from './internals/model-dir.js';
import { main } from './main.js';
import { runPipeline } from './run-pipeline.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'distillery-cli-model-'));
const io = () => memoryIo(tinyPipeline());
const values = (m: unknown) => (m as { trainableVariables: { dataSync(): ArrayLike<number> }[] }).trainableVariables.map((v) => Array.from(v.dataSync()));

let root: string;
let bertDir: string;
let lstmDir: string;
let dataFile: string;
let bert: BertModel;

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = tmp();
  const tokenizerJson = JSON.stringify(tinyTokenizerJson(WORDS));
  bert = new BertModel({
    vocab_size: 5 + WORDS.length, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 32, id2label: { 0: 'neg', 1: 'pos' },
  }, { heads: ['classification'], seed: 3 });
  bertDir = path.join(root, 'bert');
  await saveBertToHf(bert, bertDir);
  writeFileSync(path.join(bertDir, 'tokenizer.json'), tokenizerJson);
  const lstm = new BiLstmClassifier({ vocabSize: 5 + WORDS.length, numLabels: 2, embeddingSize: 8, units: 4, denseSize: 8, seed: 4 });
  lstmDir = path.join(root, 'bilstm');
  await lstm.save(lstmDir);
  writeFileSync(path.join(lstmDir, 'tokenizer.json'), tokenizerJson);
  dataFile = path.join(root, 'dev.jsonl');
  writeFileSync(dataFile, sentimentJsonl(20));
});

describe('distillery inspect', () => {
  it('prints a Hugging Face BERT folder: format, shape, parameters by part, features, files, tokenizer', async () => {
    const out = io();
    expect(await main(['inspect', bertDir], out)).toBe(0);
    expect(out.out).toContain('format:      Hugging Face BERT folder (config.json + model.safetensors)');
    expect(out.out).toContain('model:       bert(2x16)');
    expect(out.out).toContain('shape:       2 layer(s), hidden 16, 2 attention head(s), vocabulary 17, 2 label(s) (neg, pos)');
    expect(out.out).toContain(`parameters:  ${bert.parameterCount().toLocaleString('en-US')} (embeddings `);
    expect(out.out).toContain('emits:       logits, hidden, attentionScores, attentionProbs, queries, keys, values');
    expect(out.out).toMatch(/files: {7}config\.json [\d.]+ (B|KiB), model\.safetensors [\d.]+ KiB, tokenizer\.json/);
    expect(out.out).toContain('(vocabulary 17)');
    const json = io();
    expect(await main(['inspect', bertDir, '--json'], json)).toBe(0);
    const info = JSON.parse(json.out);
    expect(info.parameters).toBe(bert.parameterCount());
    expect(Object.values(info.parameterParts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(bert.parameterCount());
    expect(info.heads).toEqual(['classification']);
  });

  it('prints a BiLSTM folder', async () => {
    const out = io();
    expect(await main(['inspect', lstmDir], out)).toBe(0);
    expect(out.out).toContain('format:      distillery BiLSTM folder');
    expect(out.out).toContain('model:       bilstm(8x4)');
    expect(out.out).toContain('emits:       logits');
  });
});

describe('distillery eval', () => {
  it('gives accuracy, macro-F1 and MCC on a JSONL file, as core evaluate() does; label names follow the model', async () => {
    const out = io();
    expect(await main(['eval', bertDir, '--data', dataFile, '--json'], out)).toBe(0);
    const printed = JSON.parse(out.out);
    const { examples } = await loadTextDataset(dataFile, { labels: ['neg', 'pos'] });
    const expected = evaluate(bert, textBatchSource(examples, new Tokenizer(path.join(bertDir, 'tokenizer.json'))), 64);
    expect(printed.metrics).toEqual(expected);
    expect(Object.keys(printed.metrics).sort()).toEqual(['accuracy', 'f1', 'mcc']);
    expect(printed.data).toBe(`${dataFile} (20 examples)`);
    const text = io();
    expect(await main(['eval', lstmDir, '--data', dataFile], text)).toBe(0);
    expect(text.out).toMatch(/\nmodel: bilstm\(8x4\) .*\ndata: {2}.*dev\.jsonl \(20 examples\)\naccuracy \d\.\d{4} {2}macro-F1 \d\.\d{4} {2}mcc -?\d\.\d{4}\n\n/);
    expect(text.out).toMatch(/\nclass {2}precision {2}recall {6}F1 {2}support\nneg +\d\.\d{4} {2}\d\.\d{4} {2}\d\.\d{4} +10\npos +\d\.\d{4} {2}\d\.\d{4} {2}\d\.\d{4} +10\n\n/);
    expect(text.out).toMatch(/\nconfusion matrix \(rows: true class, columns: predicted\)\n {5}neg +pos\nneg +\d+ +\d+\npos +\d+ +\d+\n$/);
  });

  it('per-class precision/recall/F1 and the confusion matrix by label name, and --predictions writes one line per example', async () => {
    const out = io();
    const predictionsFile = path.join(root, 'predictions.jsonl');
    expect(await main(['eval', bertDir, '--data', dataFile, '--json', '--predictions', predictionsFile], out)).toBe(0);
    const printed = JSON.parse(out.out);
    // Independently: argmax of the model's logits, then counts per class in plain float64 loops.
    const { examples } = await loadTextDataset(dataFile, { labels: ['neg', 'pos'] });
    const batch = textBatchSource(examples, new Tokenizer(path.join(bertDir, 'tokenizer.json'))).batch(examples.map((_, i) => i));
    const logits = bert.forward(batch, new Set(['logits'])).logits!;
    const rows = logits.arraySync() as number[][];
    logits.dispose();
    Object.values(batch).forEach((t) => t.dispose());
    const predicted = rows.map((r) => (r[1] > r[0] ? 1 : 0));
    const truth = examples.map((e) => e.label!);
    const matrix = [[0, 0], [0, 0]];
    truth.forEach((t, i) => { matrix[t][predicted[i]] += 1; });
    expect(printed.confusion).toEqual({ labels: ['neg', 'pos'], matrix });
    ['neg', 'pos'].forEach((label, c) => {
      const tp = matrix[c][c];
      const support = matrix[c][0] + matrix[c][1];
      const called = matrix[0][c] + matrix[1][c];
      const precision = called ? tp / called : 0;
      const recall = tp / support;
      const got = printed.classes[c];
      expect(got.label).toBe(label);
      expect(got.support).toBe(support);
      expect(got.precision).toBeCloseTo(precision, 12);
      expect(got.recall).toBeCloseTo(recall, 12);
      expect(got.f1).toBeCloseTo(precision + recall ? (2 * precision * recall) / (precision + recall) : 0, 12);
    });
    expect(printed.metrics.f1).toBeCloseTo((printed.classes[0].f1 + printed.classes[1].f1) / 2, 12);

    const lines = readFileSync(predictionsFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(['index', 'text', 'label', 'predicted', 'probabilities']);
      expect(line.index).toBe(i);
      expect(line.text).toBe(examples[i].text);
      expect(line.label).toBe(['neg', 'pos'][truth[i]]);
      expect(line.predicted).toBe(['neg', 'pos'][predicted[i]]);
      // softmax of the row's logits, by name.
      const e = rows[i].map((z) => Math.exp(z - Math.max(...rows[i])));
      expect(line.probabilities.neg).toBeCloseTo(e[0] / (e[0] + e[1]), 6);
      expect(line.probabilities.pos).toBeCloseTo(e[1] / (e[0] + e[1]), 6);
    });
  });

  it('leaves hidden labels (-100) out of the metrics and writes them as null; a class the model lacks fails', async () => {
    const partly = path.join(root, 'partly.jsonl');
    writeFileSync(partly, sentimentJsonl(6).split('\n').map((l, i) => (i < 2 ? l.replace(/"label":"\w+"/, '"label":null') : l)).join('\n'));
    const source = textBatchSource((await loadTextDataset(partly, { labels: ['neg', 'pos'], hiddenLabels: true })).examples,
      new Tokenizer(path.join(bertDir, 'tokenizer.json')));
    const fits = memoryIo(async () => ({ distillery: createDistillery({ logger: silentLogger }), stages: [], datasets: { partly: source } }));
    const predictionsFile = path.join(root, 'partly-predictions.jsonl');
    writeFileSync(path.join(root, 'partly.yaml'), '');
    expect(await main(['eval', bertDir, '--data', `${path.join(root, 'partly.yaml')}#partly`, '--json', '--predictions', predictionsFile], fits), fits.err).toBe(0);
    const printed = JSON.parse(fits.out);
    const { examples } = await loadTextDataset(dataFile, { labels: ['neg', 'pos'] });
    const labelledOnly = evaluate(bert, textBatchSource(examples.slice(2, 6), new Tokenizer(path.join(bertDir, 'tokenizer.json'))), 64);
    expect(printed.metrics).toEqual(labelledOnly);
    expect(printed.classes.reduce((n: number, c: { support: number }) => n + c.support, 0)).toBe(4);
    const lines = readFileSync(predictionsFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.label)).toEqual([null, null, 'pos', 'neg', 'pos', 'neg']);
    // No examples are known for a bare source: no text in the lines.
    expect(Object.keys(lines[0])).toEqual(['index', 'label', 'predicted', 'probabilities']);

    const three = path.join(root, 'three.jsonl');
    writeFileSync(three, `${sentimentJsonl(2)}\n{"text":"the film","label":"meh"}`);
    const bad = io();
    // The BiLSTM names no labels: the file's sorted names meh, neg, pos give ids 0..2 for its 2 outputs.
    expect(await main(['eval', lstmDir, '--data', three], bad)).toBe(2);
    expect(bad.err).toContain(`error: eval: example 0 of ${three} (3 examples) has class id 2 (pos), but bilstm(8x4) has 2 outputs`);
  });

  it('evaluates on a named dataset of a pipeline file; an unknown name lists the known ones (exit 2)', async () => {
    const lstm = await BiLstmClassifier.load(lstmDir);
    const bad = memoryIo(tinyPipeline());
    expect(await main(['eval', lstmDir, '--data', path.join(root, 'p.yaml'), '--dataset', 'nope'], bad)).toBe(2);
    writeFileSync(path.join(root, 'p.yaml'), '');
    expect(await main(['eval', lstmDir, '--data', path.join(root, 'p.yaml'), '--dataset', 'nope'], bad)).toBe(2);
    expect(bad.err).toContain("has no dataset or stage 'nope' with validation data (known: teacher, student)");
    const source = textBatchSource((await loadTextDataset(dataFile)).examples, new Tokenizer(path.join(lstmDir, 'tokenizer.json')));
    const fits = memoryIo(async () => ({ distillery: createDistillery({ logger: silentLogger }), stages: [], datasets: { dev: source } }));
    expect(await main(['eval', lstmDir, '--data', `${path.join(root, 'p.yaml')}#dev`, '--json'], fits)).toBe(0);
    expect(JSON.parse(fits.out).metrics).toEqual(evaluate(lstm, source, 64));
    const missing = io();
    expect(await main(['eval', lstmDir], missing)).toBe(2);
    expect(missing.err).toContain('error: --data is required');
    const noTokenizer = io();
    expect(await main(['eval', path.join(root, 'bilstm-tfjs-none'), '--data', 'spam-assassin:test'], noTokenizer)).toBe(2);
    expect(await main(['eval', bertDir, '--data', 'spam-assassin:test', '--tokenizer', path.join(root, 'nope.json')], noTokenizer)).toBe(2);
    expect(noTokenizer.err).toMatch(/no such folder[\s\S]*error: Tokenizer: /);
    lstm.dispose();
  });
});

describe('distillery export', () => {
  it('BERT: hf and tfjs folders that load back to the same weights and the same metrics', async () => {
    const hf = path.join(root, 'out-hf');
    const tfjs = path.join(root, 'out-tfjs');
    const a = io();
    expect(await main(['export', bertDir, '--format', 'hf', '--out', hf], a)).toBe(0);
    expect(a.out).toContain(`exported bert(2x16) from ${bertDir} as hf:`);
    expect(readFileSync(path.join(hf, 'model.safetensors')).equals(readFileSync(path.join(bertDir, 'model.safetensors')))).toBe(true);
    expect(await main(['export', hf, '--format', 'tfjs', '--out', tfjs], io())).toBe(0);
    const modelJson = JSON.parse(readFileSync(path.join(tfjs, 'model.json'), 'utf8'));
    // One TF.js format for BERT: @distillery/models' (loadBertFromTfjs reads what the CLI exports).
    expect(modelJson.format).toBe('distillery-bert');
    expect(modelJson.weightsManifest[0].weights[0].name).toBe('bert.embeddings.word_embeddings.weight');
    const back = await loadModel(tfjs);
    expect(back.format).toBe('tfjs');
    expect(values(back.model)).toEqual(values(bert));
    const direct = await loadBertFromTfjs(tfjs);
    expect([values(direct), direct.heads, direct.config]).toEqual([values(bert), bert.heads, bert.config]);
    direct.dispose();
    const inspected = io();
    expect(await main(['inspect', tfjs], inspected)).toBe(0);
    expect(inspected.out).toContain('format:      TensorFlow.js folder (model.json + weight shards + config.json)');
    expect(inspected.out).toContain('shape:       2 layer(s), hidden 16, 2 attention head(s), vocabulary 17, 2 label(s) (neg, pos)');
    // A folder saved by the models package is read by the commands too.
    const saved = path.join(root, 'saved-tfjs');
    await saveBertToTfjs(bert, saved);
    expect(values((await loadModel(saved)).model)).toEqual(values(bert));
    const e1 = io();
    const e2 = io();
    await main(['eval', bertDir, '--data', dataFile, '--json'], e1);
    await main(['eval', tfjs, '--data', dataFile, '--json'], e2);
    expect(JSON.parse(e2.out).metrics).toEqual(JSON.parse(e1.out).metrics);
    // An existing export is replaced only with --force; a folder that is not a model never.
    const again = io();
    expect(await main(['export', bertDir, '--format', 'tfjs', '--out', tfjs], again)).toBe(2);
    expect(again.err).toContain('already holds a model; pass --force to replace it');
    expect(await main(['export', bertDir, '--format', 'tfjs', '--out', tfjs, '--force'], io())).toBe(0);
    const notModel = io();
    expect(await main(['export', bertDir, '--format', 'hf', '--out', root, '--force'], notModel)).toBe(2);
    expect(notModel.err).toContain('is not a model folder');
  });

  it("an export in the earlier CLI's 'distillery/bert' format fails, naming the format", async () => {
    const old = path.join(root, 'old-tfjs');
    expect(await main(['export', bertDir, '--format', 'tfjs', '--out', old], io())).toBe(0);
    const file = path.join(old, 'model.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), format: 'distillery/bert', modelTopology: undefined }));
    const out = io();
    expect(await main(['inspect', old], out)).not.toBe(0);
    expect(out.err).toContain(`${file} has format 'distillery/bert' (a TensorFlow.js export by an earlier distillery), which is no ` +
      "longer read; export the model again from its Hugging Face folder or checkpoint (distillery export <model> --format tfjs " +
      "writes format 'distillery-bert')");
  });

  it('BiLSTM: tfjs round trip; a last/ checkpoint is rebuilt from its stage config', async () => {
    const tfjs = path.join(root, 'lstm-tfjs');
    expect(await main(['export', lstmDir, '--format', 'tfjs', '--out', tfjs], io())).toBe(0);
    const original = await BiLstmClassifier.load(lstmDir);
    const back = await loadModel(tfjs);
    expect(back.kind).toBe('bilstm');
    expect(values(back.model)).toEqual(values(original));

    // A one-stage run without validation: its saved student is the last/ checkpoint's weights.
    const tokenizer = new Tokenizer(path.join(lstmDir, 'tokenizer.json'));
    const { examples } = await loadTextDataset(dataFile);
    const run = path.join(root, 'run');
    await runPipeline({
      distillery: createDistillery({ logger: silentLogger, plugins: [bilstm] }), out: run, backend: 'cpu', report: false, compare: false,
      stages: [{
        name: 'lstm', student: { use: 'bilstm', options: { vocabSize: tokenizer.vocabSize, numLabels: 2, embeddingSize: 8, units: 4, denseSize: 8 } },
        losses: [{ use: 'supervised' }], data: { train: textBatchSource(examples, tokenizer) }, batchSize: 8, maxSteps: 3,
      }],
    });
    const last = path.join(run, 'checkpoints', 'lstm', 'last');
    const state = JSON.parse(readFileSync(path.join(last, 'state.json'), 'utf8'));
    expect(state.config.student).toEqual({ use: 'bilstm', options: { vocabSize: 17, numLabels: 2, embeddingSize: 8, units: 4, denseSize: 8 } });
    const exported = path.join(root, 'lstm-from-last');
    const out = io();
    expect(await main(['export', last, '--format', 'hf', '--out', exported], out)).toBe(0);
    expect(out.out).toContain('(a BiLSTM: its own config; transformers has no class for it)');
    expect(readFileSync(path.join(exported, 'model.safetensors')).equals(readFileSync(path.join(run, 'students', 'lstm', 'model.safetensors')))).toBe(true);
    // The run saved the stage's tokenizer beside its student: eval reads text without --tokenizer.
    expect(await main(['eval', path.join(run, 'students', 'lstm'), '--data', dataFile], io())).toBe(0);
    const inspect = io();
    expect(await main(['inspect', path.join(run, 'checkpoints', 'lstm')], inspect)).toBe(0);
    expect(inspect.out).toMatch(/checkpoint: {2}stage 'lstm', step 3 \(1 epoch\(s\) done\), seed 42, saved .*; model rebuilt from the stage config/);
    original.dispose();
    (back.model as BiLstmClassifier).dispose();
  });
});
