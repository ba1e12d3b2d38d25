import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePipelineConfig } from '@distillery/cli';
import { arraySource, disposeBatch, selectBackend, type StageConfig } from '@distillery/core';
import { BertModel } from '@distillery/models';
import { chooseBias, raiseClassBias } from './heldout.js';
import { f1Chart, heldoutChart, renderHtml, temperatureChart } from './html.js';
import { renderMarkdown } from './markdown.js';
import { metricsOf, scoreSource, type Metrics } from './measure.js';
import { EXPERIMENT_IDS, GENERAL_RUNS, HELDOUT_FILE, HELDOUT_TEACHER_RUN, METHODS, TEACHER_RUN, TEMPERATURE_FILE } from './plan.js';
import { applyProfile, FULL, MICRO, retarget } from './profile.js';
import { ALL_LABELS, applyRegime, FEW_LABELS, LABEL_SEED, TRANSFER_DATASET } from './regime.js';
import { runConfig } from './run-experiment.js';
import { runResults } from './runner.js';
import { tableRows, verdicts } from './table.js';
import type { ResultsData } from './types.js';
import { writeResults } from './write.js';

const EXPERIMENTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'experiments');
const readRaw = (file: string) => parse(readFileSync(path.join(EXPERIMENTS, file), 'utf8')) as Record<string, any>;

beforeAll(async () => { await selectBackend('cpu'); });

/** Metrics of a binary classifier with the given class F1s (the rest derived loosely: only the table reads them). */
const metrics = (accuracy: number, f1: number, classF1: number[]): Metrics =>
  ({ accuracy, f1, mcc: 0, perClass: classF1.map((c) => ({ precision: c, recall: c, f1: c, support: 10 })) });
const model = (name: string, f1: number, speed: number, embeddings = 3_906_816) =>
  ({ model: name, dir: `/runs/${name}`, parameters: { embeddings, encoder: 400_000, total: embeddings + 400_000 }, test: metrics(f1 + 0.01, f1, [f1 + 0.01, f1 - 0.01]), sequencesPerSecond: speed });
const stages = (...s: [string, number][]) => s.map(([name, seconds]) => ({ name, seconds, cpuSeconds: seconds * 1.5, steps: 10 }));

function fakeResults(): ResultsData {
  const row = (method: string, label: string, regime: '5pct' | 'all', f1: number, extra = {}) => ({
    method, label, regime, regimeLabel: regime === 'all' ? 'all labels' : '5 % labels', student: model('bert(2x128)', f1, 400),
    stages: stages(['student', 60]), labelled: { count: regime === 'all' ? 4623 : 231, total: 4623 }, ...extra,
  });
  return {
    meta: {
      mode: 'full', command: 'npm run results', date: '2025-01-01T00:00:00.000Z',
      machine: { cpu: 'Test CPU', cores: 2, memoryGiB: 8, platform: 'linux x64', node: 'v20' },
      backend: 'wasm', seed: 1, classes: ['ham', 'spam'],
      data: { train: 4623, validation: 577, test: 577, maxLength: 128 }, wallSeconds: 3725, training: { stageSeconds: 3600, runs: 24, reused: 3 }, cpuSeconds: 6000,
    },
    teacher: { result: model('bert(4x256)', 0.97, 100), stages: stages(['pretrain', 100], ['finetune', 50]) },
    methods: [
      row('baseline', 'from scratch', 'all', 0.95, { baseline: true }), row('baseline', 'from scratch', '5pct', 0.9, { baseline: true }),
      row('hinton', 'Hinton KD', 'all', 0.972), row('hinton', 'Hinton KD', '5pct', 0.975),
      row('pkd', 'BERT-PKD (Skip)', 'all', 0.96), row('pkd', 'BERT-PKD (Skip)', '5pct', 0.905),
      { ...row('tinybert', 'TinyBERT', '5pct', 0.95), stages: stages(['tinybert-general/general', 30], ['intermediate', 20], ['prediction', 10]) },
    ],
    temperature: [
      { temperature: 4, student: model('bert(2x128)', 0.96, 400), stages: stages(['student', 30]) },
      { temperature: 1, student: model('bert(2x128)', 0.93, 400), stages: stages(['student', 30]) },
    ],
    heldout: {
      heldout: 'hard-ham', classes: ['easy-ham', 'hard-ham', 'spam'], teacher: metrics(0.95, 0.9, [0.97, 0.8, 0.95]),
      before: { accuracy: 0.9, f1: 0.6, mcc: 0, perClass: [{ precision: 1, recall: 1, f1: 1, support: 389 }, { precision: 0, recall: 0.1, f1: 0.1, support: 19 }, { precision: 1, recall: 1, f1: 1, support: 169 }] },
      after: { accuracy: 0.93, f1: 0.8, mcc: 0, perClass: [{ precision: 1, recall: 1, f1: 1, support: 389 }, { precision: 0.7, recall: 0.7, f1: 0.7, support: 19 }, { precision: 1, recall: 1, f1: 1, support: 169 }] },
      bias: 3.5, validation: { before: 0.6, after: 0.8 }, transferCounts: { 'easy-ham': 3063, 'hard-ham': 0, spam: 1356 },
      stages: stages(['heldout-teacher/finetune', 40], ['student', 20]),
    },
  };
}

describe('metrics', () => {
  it('gives accuracy, macro-F1 and per-class scores as counted by hand', () => {
    // class 0: predicted at 0, 1, 5, true at 0 → P 1/3, R 1, F1 2·1/(3+1); class 1: predicted 2, 3, true 1, 2, 3 → F1 2·2/(2+3);
    // class 2: predicted 4, true 4, 5 → F1 2·1/(1+2).
    const m = metricsOf([0, 0, 1, 1, 2, 0], [0, 1, 1, 1, 2, 2], 3);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.perClass.map((c) => c.f1)).toEqual([0.5, 0.8, 2 / 3].map((x) => expect.closeTo(x, 12)));
    expect(m.perClass.map((c) => [c.precision, c.recall, c.support])).toEqual([[1 / 3, 1, 1], [1, 2 / 3, 3], [1, 0.5, 2]]);
    expect(m.f1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
  });
});

describe('held-out class bias', () => {
  it('chooses the smallest raise that maximises validation macro-F1', () => {
    // Class 1 is right for δ > 1.6; class 0's row turns to 1 for δ > 3, class 2's for δ > 4: so 2 (grid step 0.5).
    const scored = { logits: [[3, 0, 0], [0, -1, 0.6], [0, -1, 3]], labels: [0, 1, 2] };
    expect(chooseBias(scored, 1, 3, { max: 10, step: 0.5 })).toEqual({ bias: 2, f1: 1 });
    expect(chooseBias(scored, 1, 3, { max: 1, step: 0.5 }).bias).toBe(0);
  });

  it('raises one class of the classifier bias: logits move by exactly that, and nothing leaks', () => {
    const bert = new BertModel({ num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, vocab_size: 20,
      max_position_embeddings: 8, num_labels: 3 }, { seed: 3 });
    const source = arraySource({ inputIds: [[1, 5, 7, 2], [1, 9, 2, 0]], labels: [0, 2] });
    const before = scoreSource(bert, source);
    const tensors = tf.memory().numTensors;
    raiseClassBias(bert, 2, 1.25);
    expect(tf.memory().numTensors).toBe(tensors);
    const after = scoreSource(bert, source);
    after.logits.forEach((row, i) => row.forEach((x, c) => expect(x).toBeCloseTo(before.logits[i][c] + (c === 2 ? 1.25 : 0), 5)));
    expect(() => raiseClassBias(bert, 3, 1)).toThrow(/class 3 is not one of the 3 classes of bert\(1x8\)/);
    bert.dispose();
  });
});

describe('label regimes', () => {
  it('hide all but a seeded, stratified 5 % of the transfer set\'s labels; a teacherless file trains on the labelled rows alone', () => {
    const hinton = applyRegime(readRaw('hinton.yaml'), FEW_LABELS, 'hinton.yaml');
    expect(hinton.data[TRANSFER_DATASET].keepLabels).toEqual({ fraction: 0.05, seed: LABEL_SEED });
    const baseline = applyRegime(readRaw('baseline.yaml'), FEW_LABELS, 'baseline.yaml');
    expect(baseline.data[TRANSFER_DATASET].keepLabels).toEqual({ fraction: 0.05, seed: LABEL_SEED, others: 'drop' });
    // As many steps as with all the labels: 20× the epochs over a twentieth of the rows.
    expect(baseline.stages.map((s: any) => s.epochs)).toEqual(readRaw('baseline.yaml').stages.map((s: any) => s.epochs * 20));
    expect(hinton.stages).toEqual(readRaw('hinton.yaml').stages);
    expect(applyRegime(readRaw('hinton.yaml'), ALL_LABELS, 'hinton.yaml')).toEqual(readRaw('hinton.yaml'));
  });
});

describe('experiment files', () => {
  const files = readdirSync(EXPERIMENTS).filter((f) => f.endsWith('.yaml')).sort();

  it('are all run by the plan, and the plan names no other', () => {
    const planned = [TEACHER_RUN.file, ...GENERAL_RUNS.map((g) => g.file), ...METHODS.map((m) => m.file), TEMPERATURE_FILE,
      HELDOUT_TEACHER_RUN.file, HELDOUT_FILE];
    expect([...new Set(planned)].sort()).toEqual(files);
    expect(EXPERIMENT_IDS).toEqual(['teacher', 'baseline', 'hinton', 'bilstm', 'pkd', 'tinybert', 'minilm', 'distilbert', 'temperature', 'heldout']);
  });

  it.each(files)('%s is a valid pipeline file that reads and writes only under the run folder', (file) => {
    const raw = readRaw(file);
    const moved = retarget(raw, '/tmp/runs-x') as Record<string, any>;
    expect(JSON.stringify(moved)).not.toContain('../runs/');
    expect(moved.output).toBe(`/tmp/runs-x/${file.replace(/\.yaml$/, '')}`);
    expect(() => parsePipelineConfig(moved, { baseDir: EXPERIMENTS })).not.toThrow();
    expect(() => parsePipelineConfig(applyProfile(moved, MICRO), { baseDir: EXPERIMENTS })).not.toThrow();
  });

  it('shrinks every model, dataset and stage by the profile', () => {
    const teacher = applyProfile(readRaw('teacher.yaml'), MICRO);
    expect(teacher.models.teacher.config).toMatchObject({ hidden_size: 32, intermediate_size: 128, num_attention_heads: 4, max_position_embeddings: 32 });
    expect(teacher.data.unlabelled).toMatchObject({ maxLength: 32, limit: 48 });
    expect(teacher.data.test).toMatchObject({ maxLength: 32, limit: 24 });
    expect(teacher.stages.map((s: any) => [s.maxSteps, s.batchSize])).toEqual([[2, 8], [2, 8]]);
    const minilm = applyProfile(readRaw('minilm-general.yaml'), MICRO);
    expect(minilm.stages[0].options).toMatchObject({ maxSteps: 2, batchSize: 8 });
    expect(applyProfile(readRaw('bilstm.yaml'), MICRO).models.student).toMatchObject({ embeddingSize: 16, units: 16, denseSize: 16 });
    // A config holding only overrides keeps them as they are.
    expect(applyProfile(readRaw('heldout-teacher.yaml'), MICRO).models.teacher.config).toEqual({ num_labels: 3 });
    const quick = applyProfile(readRaw('teacher.yaml'), { ...FULL, name: 'quick', epochScale: 0.33, learningRateScale: 3 });
    const written = readRaw('teacher.yaml').stages.map((s: any) => [s.epochs, s.optimizer.learningRate]);
    expect(quick.stages.map((s: any) => [s.epochs, s.optimizer.learningRate]))
      .toEqual(written.map(([e, lr]: number[]) => [Math.max(1, Math.ceil(e * 0.33)), lr * 3]));
    expect(applyProfile(readRaw('teacher.yaml'), FULL)).toEqual(readRaw('teacher.yaml'));
  });

  it('sets the temperature of a sweep run, and refuses a file without one', async () => {
    const spec = { id: 'temperature-T7', file: path.join(EXPERIMENTS, TEMPERATURE_FILE), runDir: '/tmp/r', profile: FULL, temperature: 7, seed: 5 };
    const raw = await runConfig(spec);
    expect(raw.stages[0].losses[0].options.temperature).toBe(7);
    expect([raw.seed, raw.output]).toEqual([5, '/tmp/r/temperature-T7']);
    await expect(runConfig({ ...spec, file: path.join(EXPERIMENTS, 'baseline.yaml') }))
      .rejects.toThrow(/baseline\.yaml: stages\[0\]\.losses\[0\]\.options\.temperature is what the sweep sets/);
  });
});

describe('tables and charts', () => {
  it('compute each row against the teacher, and the goal of the 5 % regime', () => {
    const data = fakeResults();
    const rows = tableRows(data);
    expect(rows.map((r) => `${r.method}/${r.regime}`)).toEqual(['teacher/all', 'baseline/all', 'baseline/5pct', 'hinton/all', 'hinton/5pct',
      'pkd/all', 'pkd/5pct', 'tinybert/5pct']);
    const hinton = rows.find((r) => r.method === 'hinton' && r.regime === '5pct')!;
    expect(hinton.keptOfTeacher).toBeCloseTo(0.975 / 0.97, 12);
    expect(hinton.speedup).toBeCloseTo(4, 12);
    expect(rows[0].totalSeconds).toBe(150);
    expect(rows.at(-1)!.totalSeconds).toBe(60);
    const v = verdicts(data);
    expect(v.baselineF1).toBe(0.9);
    expect(v.rows.map((r) => [r.method, r.withinTeacher, r.beatsBaseline])).toEqual([
      ['hinton', true, true], ['pkd', false, false], ['tinybert', false, true]]);
    expect(v.rows[0].vsTeacher).toBeCloseTo(0.5, 9);
    expect(v.rows[1].vsBaseline).toBeCloseTo(0.5, 9);
  });

  it('RESULTS.md has a row per method and regime, the facts of the run, and says which methods miss the goal', () => {
    const md = renderMarkdown(fakeResults());
    for (const line of ['| mode | full (the experiment files as written) |', '| command | `npm run results` |',
      '| machine | Test CPU, 2 cores, 8 GiB, linux x64, Node v20 |', '| seed | 1 (every experiment file) |',
      '| training time | 1:00:00: every stage of the 24 runs, summed (wall time of each stage, with its validation and checkpoints) |',
      '| wall time of the command | 1:02:05 (CPU time 1:40:00, every thread); 3 of the 24 runs reused from earlier invocations (--resume) |',
    ]) expect(md).toContain(line);
    expect(md).toContain('| Hinton KD | 5 % labels | bert(2x128) | 3,906,816 | 400,000 | 0.9850 | 0.9750 | 0.9850 | 0.9650 | 100.5 % | 400.0 | 4.0× | student 1:00 | 1:00 |');
    expect(md).toContain('| TinyBERT | 5 % labels | bert(2x128) | 3,906,816 | 400,000 | 0.9600 | 0.9500 | 0.9600 | 0.9400 | 97.9 % | 400.0 | 4.0× | tinybert-general/general 0:30 · intermediate 0:20 · prediction 0:10 | 1:00 |');
    expect(md).toContain('| BERT-PKD (Skip) | 0.9050 | −6.50 | +0.50 | **no** | **no** |');
    expect(md).toContain('**Does not beat the from-scratch student by 1 point: BERT-PKD (Skip).**');
    expect(md).toContain('**Not within 1 point of the teacher: BERT-PKD (Skip), TinyBERT.**');
    expect(md).toContain('| 4 | 0.9700 | 0.9600 | 0.9700 | 0.9500 | 0:30 |');
    expect(md).toContain('| student, hard-ham bias + 3.5 | 0.7000 | 0.9300 | 0.8000 |');
    expect(md).toContain('accuracy on hard-ham (19 test e-mails)');
  });

  it('charts F1 by method and regime, F1 against T (sorted), and the held-out class, in one page with Chart.js inlined', () => {
    const data = fakeResults();
    const f1 = f1Chart(data);
    expect(f1.data.labels).toEqual(['from scratch', 'Hinton KD', 'BERT-PKD (Skip)', 'TinyBERT']);
    expect(f1.data.datasets.map((d) => d.data)).toEqual([[0.95, 0.972, 0.96, null], [0.9, 0.975, 0.905, 0.95], [0.97, 0.97, 0.97, 0.97]]);
    expect(temperatureChart(data).data.datasets[0].data).toEqual([{ x: 1, y: 0.93 }, { x: 4, y: 0.96 }]);
    expect(heldoutChart(data)!.data.datasets.map((d) => d.data)).toEqual([[0.8, 0.1, 0.7], [0.95, 0.9, 0.93]]);
    const html = renderHtml(data, { chartJs: 'window.Chart = function () {}; // </script> stays inside' });
    expect(html).toContain('<\\/script> stays inside');
    const json = /<script type="application\/json" id="results-charts">(.*?)<\/script>/s.exec(html)![1];
    expect(Object.keys(JSON.parse(json))).toEqual(['f1', 'temperature', 'heldout']);
    expect(html).toContain('not at least 1 point above the from-scratch student: BERT-PKD (Skip)');
    expect(renderHtml({ ...data, heldout: undefined, temperature: [] }, { chartJs: '' })).not.toContain('data-chart="heldout"');
  });
});

describe('the whole study at a micro size', () => {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'distillery-spam-results-'));
  afterAll(() => rmSync(runDir, { recursive: true, force: true }));

  it('runs every experiment file end to end and writes RESULTS.md with a row per method and regime', async () => {
    await selectBackend('wasm');
    const tensors = tf.memory().numTensors;
    const data = await runResults({ profile: MICRO, experimentsDir: EXPERIMENTS, runDir, command: 'test' });
    expect(tf.memory().numTensors).toBe(tensors);
    const written = await writeResults(data, { markdown: path.join(runDir, 'RESULTS.md'), json: path.join(runDir, 'results.json') });
    const md = readFileSync(written.markdown, 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| method |') && /labels \|/.test(l)).map((l) => l.split(' | '));
    const expected = ['teacher (MLM pre-training + fine-tuning)/all labels',
      ...METHODS.flatMap((m) => [`${m.label}/all labels`, `${m.label}/5 % labels`])];
    expect(rows.map((r) => `${r[0].slice(2)}/${r[1]}`)).toEqual(expected);
    for (const r of rows) {
      for (const c of [5, 6, 7, 8]) expect(Number(r[c])).toBeGreaterThanOrEqual(0), expect(Number(r[c])).toBeLessThanOrEqual(1);
      expect(Number(r[10])).toBeGreaterThan(0);
      expect(Number(r[3].replace(/,/g, ''))).toBeGreaterThan(Number(r[4].replace(/,/g, '')));  // a 30,522-word vocabulary dominates
    }
    // 5 %: every method sees the same labelled rows; the from-scratch student has only those (others: drop).
    const few = data.methods.filter((m) => m.regime === '5pct');
    expect(new Set(few.map((m) => m.labelled!.count)).size).toBe(1);
    expect(few.filter((m) => !m.baseline).every((m) => m.labelled!.count < m.labelled!.total / 4)).toBe(true);
    expect(few.filter((m) => m.baseline).map((m) => m.labelled!.total)).toEqual([few[0].labelled!.count]);
    expect(data.temperature.map((t) => t.temperature)).toEqual([1, 4]);
    expect(data.heldout!.heldout).toBe('spam');
    expect(data.heldout!.transferCounts.spam).toBe(0);
    expect(md).toContain('## Held-out class');
    expect(readFileSync(written.html, 'utf8')).toContain('data-chart="temperature"');
    expect(JSON.parse(readFileSync(written.json, 'utf8')).methods).toHaveLength(METHODS.length * 2);
    for (const run of ['teacher', 'hinton-5pct', 'minilm-general', 'heldout']) expect(existsSync(path.join(runDir, run, 'report.html'))).toBe(true);
    expect(data.meta.training.reused).toBe(0);
    expect(data.meta.training.stageSeconds).toBeGreaterThan(0);

    // --resume reuses every run, and the study's training time still counts all of them.
    const again = await runResults({ profile: MICRO, experimentsDir: EXPERIMENTS, runDir, command: 'test', resume: true });
    expect(again.meta.training).toEqual({ ...data.meta.training, reused: data.meta.training.runs });
    expect(again.methods.map((m) => m.student.test)).toEqual(data.methods.map((m) => m.student.test));
  }, 300_000);
});
