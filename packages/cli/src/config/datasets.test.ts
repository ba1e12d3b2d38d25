import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { disposeBatch, selectBackend, silentLogger, type StepEvent } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { syntheticTask } from '@distillery/core/testing';
import { ConfigError, loadDataset, loadPipelineFile, parsePipelineConfig, TokenizerCache, type DatasetDef } from './index.js';
import { memoryLogger, tempDir } from './config-fixtures.test-util.js';

const tmp = tempDir();
beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => tmp.cleanup());

const synthetic = { type: 'synthetic', numClasses: 2, vocabSize: 20, seqLength: 6, size: 200, seed: 1, signal: 1 } as const;
const labelsOf = (def: DatasetDef, seed = 42) => loadDataset('train', def, seed, new TokenizerCache()).then((d) => {
  const batch = d.source.batch(Array.from({ length: d.source.size }, (_, i) => i));
  const labels = Array.from(batch.labels!.dataSync());
  disposeBatch(batch);
  return labels;
});
const count = (labels: number[], label: number) => labels.filter((l) => l === label).length;
const configError = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ConfigError'); }, (e) => {
  expect(e).toBeInstanceOf(ConfigError);
  return `${(e as ConfigError).path}: ${(e as ConfigError).issues[0].message}`;
});

describe('datasets: limit, stratify and keepLabels', () => {
  const task = syntheticTask(synthetic);

  it('an unstratified limit draws the same rows as before (the first `limit` of one seeded shuffle)', async () => {
    const picked = new Rng(42).shuffle(Array.from({ length: 200 }, (_, i) => i)).slice(0, 30).sort((a, b) => a - b);
    expect(await labelsOf({ ...synthetic, limit: 30 })).toEqual(picked.map((i) => task.labels[i]));
  });

  it('limit with stratify keeps the class shares of the whole set', async () => {
    const shares = [count(task.labels, 0), count(task.labels, 1)];
    const labels = await labelsOf({ ...synthetic, limit: 50, stratify: true });
    // Largest remainder over the two classes: each gets 50 · n_c / 200, rounded so they sum to 50.
    const quota = shares.map((n) => (50 * n) / 200);
    expect(count(labels, 0) + count(labels, 1)).toBe(50);
    for (const c of [0, 1]) expect(Math.abs(count(labels, c) - quota[c])).toBeLessThan(1);
    // Unstratified, the same limit drifts from the shares (seed 42 here): the check above can fail.
    const plain = await labelsOf({ ...synthetic, limit: 50 });
    expect(Math.abs(count(plain, 0) - quota[0])).toBeGreaterThanOrEqual(1);
  });

  it('keepLabels hides all but a seeded, stratified subset (-100) and logs how many rows keep their label', async () => {
    const logger = memoryLogger();
    const def = { ...synthetic, limit: 100, keepLabels: { fraction: 0.1, seed: 1 } } as DatasetDef;
    const data = await loadDataset('train', def, 42, new TokenizerCache(), logger);
    const batch = data.source.batch(Array.from({ length: 100 }, (_, i) => i));
    const labels = Array.from(batch.labels!.dataSync());
    disposeBatch(batch);
    expect(count(labels, -100)).toBe(90);
    expect(logger.lines).toEqual([expect.stringMatching(/^data 'train': 10 of 100 rows keep their label \(10 %, seed 1, stratified; 0 \d+ of \d+, 1 \d+ of \d+\)$/)]);
    // The same rows every run; the seed defaults to the file's.
    expect(await labelsOf(def)).toEqual(labels);
    const byFileSeed = await labelsOf({ ...synthetic, limit: 100, keepLabels: { count: 10 } } as DatasetDef, 1);
    expect(count(byFileSeed, -100)).toBe(90);
  });

  it("keepLabels with others: 'drop' leaves the hidden rows out: the same kept rows, and nothing else", async () => {
    const logger = memoryLogger();
    const hide = { ...synthetic, limit: 100, keepLabels: { fraction: 0.1, seed: 1 } } as DatasetDef;
    const kept = (await labelsOf(hide)).filter((l) => l !== -100);
    const drop = { ...synthetic, limit: 100, keepLabels: { fraction: 0.1, seed: 1, others: 'drop' } } as DatasetDef;
    const data = await loadDataset('train', drop, 42, new TokenizerCache(), logger);
    expect(data.source.size).toBe(10);
    expect(await labelsOf(drop)).toEqual(kept);
    expect(logger.lines[0]).toMatch(/^data 'train': 10 of 100 rows keep their label .*; the 90 others are left out \(others: drop\)$/);
  });

  it('a text file: keepLabels after limit, hiddenLabels for null labels, and the log line for each', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `text ${i}`, label: i % 4 === 0 ? 'spam' : 'ham' }));
    const file = tmp.write('mail.jsonl', rows.join('\n'));
    const logger = memoryLogger();
    const data = await loadDataset('mail', { type: 'jsonl', path: file, tokenizer: 'bert-base-uncased', limit: 20, stratify: true,
      keepLabels: { count: 4, seed: 3 } }, 42, new TokenizerCache(), logger);
    expect(data.examples!.filter((e) => e.label !== -100)).toHaveLength(4);
    expect(logger.lines).toEqual(["data 'mail': 4 of 20 rows keep their label (count 4, seed 3, stratified; ham 3 of 15, spam 1 of 5)"]);
    const partly = tmp.write('partly.jsonl', '{"text":"a","label":"spam"}\n{"text":"b","label":null}\n{"text":"c","label":"ham"}\n');
    const quiet = memoryLogger();
    const read = await loadDataset('partly', { type: 'jsonl', path: partly, tokenizer: 'bert-base-uncased', hiddenLabels: true }, 42, new TokenizerCache(), quiet);
    expect(read.examples!.map((e) => e.label)).toEqual([1, -100, 0]);
    expect(quiet.lines).toEqual(["data 'partly': 2 of 3 rows keep their label (the others are hidden in the file)"]);
  });

  it('a labelled file whose first record has no label fails at that line instead of losing its labels', async () => {
    const file = tmp.write('first.jsonl', '{"text":"a"}\n{"text":"b","label":"spam"}\n');
    expect(await configError(loadDataset('mail', { type: 'jsonl', path: file, tokenizer: 'bert-base-uncased', labels: ['ham', 'spam'] },
      42, new TokenizerCache()))).toBe(`data.mail: ${file}:1: column 'label': missing label`);
  });

  it('errors point at the key', async () => {
    const cache = new TokenizerCache();
    expect(await configError(loadDataset('train', { ...synthetic, stratify: true }, 42, cache)))
      .toBe("data.train.stratify: stratify draws 'limit' per class; set limit");
    expect(await configError(loadDataset('train', { ...synthetic, labelled: false, keepLabels: { fraction: 0.5 } }, 42, cache)))
      .toBe('data.train.keepLabels: the dataset is unlabelled (labelled: false): it has no labels to keep');
    expect(await configError(loadDataset('train', { ...synthetic, limit: 10, keepLabels: { count: 11 } }, 42, cache)))
      .toBe('data.train.keepLabels.count: expected at most the number of labelled rows (10), got 11');
    const sts = tmp.write('sts.jsonl', '{"text":"a","label":0.5}\n{"text":"b","label":1.5}\n');
    expect(await configError(loadDataset('sts', { type: 'jsonl', path: sts, tokenizer: 'bert-base-uncased', task: 'regression',
      keepLabels: { count: 1, stratify: true } }, 42, cache)))
      .toBe('data.sts.keepLabels.stratify: stratifying needs class labels, but the dataset is a regression set');
    // A regression set draws without strata by default.
    const logger = memoryLogger();
    await loadDataset('sts', { type: 'jsonl', path: sts, tokenizer: 'bert-base-uncased', task: 'regression', keepLabels: { count: 1 } }, 42, cache, logger);
    expect(logger.lines).toEqual(["data 'sts': 1 of 2 rows keep their label (count 1, seed 42, not stratified)"]);
  });

  it('the schema: keepLabels takes fraction or count (one), seed and stratify; moby-dick has no labels to keep', () => {
    const issues = (data: Record<string, unknown>) => {
      try {
        parsePipelineConfig({ data, stages: [{ name: 's', student: { type: 'x' }, losses: [{ use: 'l' }], data: { train: Object.keys(data)[0] } }] });
      } catch (error) {
        return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues({ d: { ...synthetic, keepLabels: { fraction: 0.05, seed: 1 }, limit: 10, stratify: true } })).toEqual([]);
    const both = "give 'fraction' (a share of the labelled rows, in [0, 1]) or 'count' (a number of rows), one of the two";
    expect(issues({ d: { ...synthetic, keepLabels: { fraction: 0.5, count: 3 } } })).toEqual([`data.d.keepLabels: ${both}`]);
    expect(issues({ d: { ...synthetic, keepLabels: {} } })).toEqual([`data.d.keepLabels: ${both}`]);
    expect(issues({ d: { ...synthetic, keepLabels: { fraction: 2 } } })).toEqual(['data.d.keepLabels.fraction: expected a number <= 1, got 2']);
    expect(issues({ d: { ...synthetic, keepLabels: { count: 3, stratified: true } } })[0]).toMatch(/^data\.d\.keepLabels\.stratified: unknown key \(did you mean 'stratify'\?\)/);
    expect(issues({ d: { type: 'moby-dick', tokenizer: 'bert-base-uncased', keepLabels: { count: 3 } } })[0]).toMatch(/^data\.d\.keepLabels: unknown key/);
    expect(issues({ d: { type: 'jsonl', path: 'x.jsonl', tokenizer: 'bert-base-uncased', hiddenLabels: true } })).toEqual([]);
  });
});

describe('a pipeline on partly labelled data', () => {
  it('trains with hinton: the hard term over the kept labels, the soft term over every row', async () => {
    const bert = { num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16,
      vocab_size: 20, num_labels: 2, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
    const config = {
      seed: 3,
      models: { teacher: { type: 'bert', config: bert }, student: { type: 'bert', config: { ...bert, hidden_size: 4 } } },
      data: { train: { ...synthetic, size: 64, keepLabels: { count: 4, seed: 1 } } },
      stages: [{ name: 'kd', teacher: 'teacher', student: 'student', losses: [{ use: 'hinton', options: { hardWeight: 0.5 } }],
        data: { train: 'train' }, maxSteps: 4, batchSize: 16 }],
    };
    const logger = memoryLogger();
    const loaded = await loadPipelineFile(tmp.write('partly.yaml', stringify(config)), { logger });
    expect(logger.lines).toContainEqual(expect.stringMatching(/^data 'train': 4 of 64 rows keep their label \(count 4, seed 1, stratified/));
    const steps: StepEvent[] = [];
    loaded.stages[0].callbacks = [{ onStep: (e) => { steps.push(e); } }];
    await loaded.run();
    expect(steps).toHaveLength(4);
    // Every loss is finite; a batch whose labels are all hidden has hard = 0 and soft weighted 1 − γ.
    for (const s of steps) {
      expect(Number.isFinite(s.loss)).toBe(true);
      expect(Number.isFinite(s.terms['hinton.hard'])).toBe(true);
    }
    expect(steps.some((s) => s.terms['hinton.hard'] === 0)).toBe(true);
  });
});
