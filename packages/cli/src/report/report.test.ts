import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { memoryIo, tinyPipeline } from '../fixtures.test-util.js';
import { main } from '../main.js';
import type { MetricsRecord } from '../metrics-log.js';
import { runPipeline } from '../run-pipeline.js';
import * as tf from '@tensorflow/tfjs-core';
import { arraySource } from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { collectReport } from './collect.js';
import { compareModels } from './compare.js';
import { renderReport } from './html.js';

const step = (stage: string, s: number, loss: number): MetricsRecord => ({
  event: 'step', time: '', stage, step: s, totalSteps: 10, epoch: 0, loss, terms: { a: loss / 2 }, gradNorm: 1, learningRate: 0.1, elapsedMs: s,
});

describe('collectReport', () => {
  it('keeps the last record of a step logged twice (a hard exit before a resume), in step order', () => {
    const data = collectReport([
      { event: 'run', time: '', resume: false },
      { event: 'stage-start', time: '', index: 0, count: 1, stage: 's', totalSteps: 10, startStep: 0, epochs: 1, student: 'm' },
      step('s', 1, 1), step('s', 2, 2), step('s', 3, 3),
      { event: 'run', time: '', resume: true },
      step('s', 3, 30), step('s', 4, Number.NaN),
      { event: 'epoch', time: '', stage: 's', epoch: 0, step: 4, metrics: { accuracy: 0.5 }, isBest: true },
    ]);
    expect(data.runs).toBe(2);
    expect(data.stages[0].steps).toEqual([1, 2, 3, 4]);
    expect(data.stages[0].terms).toEqual({ loss: [1, 2, 30, null], a: [0.5, 1, 15, null] });
    expect(data.stages[0].evaluations).toEqual([{ epoch: 0, step: 4, metrics: { accuracy: 0.5 }, isBest: true }]);
  });

  it("sums a stage's wall time over its stage-end records (a resumed stage ends twice) and shows it", () => {
    const data = collectReport([
      step('s', 1, 1),
      { event: 'stage-end', time: '', stage: 's', status: 'interrupted', step: 1, wallSeconds: 2.5 },
      { event: 'stage-end', time: '', stage: 's', status: 'completed', step: 10, wallSeconds: 70 },
      step('t', 1, 1),
    ]);
    expect(data.stages.map((s) => s.wallSeconds)).toEqual([72.5, undefined]);
    const html = renderReport(data, { chartJs: '' });
    expect(html).toContain('1 of ? steps; wall time 1:13</p>');
    expect(renderReport(collectReport([step('s', 1, 1), { event: 'stage-end', time: '', stage: 's', status: 'completed', step: 1, wallSeconds: 4.26 }]),
      { chartJs: '' })).toContain('1 of ? steps; wall time 4.3 s</p>');
  });

  it('thins long curves to bucket means', () => {
    const records = Array.from({ length: 10 }, (_, i) => step('s', i + 1, i + 1));
    const data = collectReport(records, { maxPoints: 5 });
    expect(data.stages[0].steps).toEqual([2, 4, 6, 8, 10]);
    expect(data.stages[0].terms.loss).toEqual([1.5, 3.5, 5.5, 7.5, 9.5]);
  });

  it('escapes names and keeps inline data from closing its script element', () => {
    const html = renderReport(collectReport([step('<img src=x>', 1, 1)], { title: 'a </script> & b' }), { chartJs: '/* chart */' });
    expect(html).toContain('<title>a &lt;/script&gt; &amp; b</title>');
    expect(html).not.toContain('<img src=x>');
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });
});

describe('compareModels', () => {
  it('counts parameters, evaluates both models and times them, leaving no tensor behind', () => {
    const task = { numClasses: 3, vocabSize: 20, seqLength: 6 };
    const validation = arraySource(syntheticTask({ ...task, size: 20, seed: 3 }));
    const teacher = new MlpClassifier({ vocabSize: 20, embeddingSize: 8, hiddenSizes: [8], numLabels: 3 });
    const student = new MlpClassifier({ vocabSize: 20, embeddingSize: 4, hiddenSizes: [4], numLabels: 3 });
    const before = tf.memory().numTensors;
    const rows = compareModels({ teacher: teacher.asTeacher(), student, validation, train: validation, batchSize: 8 });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows.map((r) => [r.role, r.parameters])).toEqual([['teacher', undefined], ['student', 20 * 4 + 4 * 4 + 4 + 4 * 3 + 3]]);
    expect(rows.every((r) => Object.keys(r.metrics!).join() === 'accuracy,f1,mcc' && r.examplesPerSecond! > 0)).toBe(true);
    const unlabelled = compareModels({ student, train: arraySource({ inputIds: [[1, 2, 3]] }), batchSize: 4 });
    expect(unlabelled[0].note).toBe('no validation data');
    teacher.dispose();
    student.dispose();
  });
});

/** Debian's chromium (CI installs it with apt); $CHROMIUM overrides. */
const chromium = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
/** Set by .ci/run where it found chromium: the check must then run, not skip. */
const chromiumRequired = process.env.DISTILLERY_REQUIRE_CHROMIUM === '1';
if (!chromium && !chromiumRequired) console.warn('report.test.ts: skipping the headless Chromium check: no chromium found (apt-get install chromium, or set $CHROMIUM)');

describe('report.html in headless Chromium', () => {
  it.skipIf(!chromium && !chromiumRequired)('draws every chart (pixels painted in each) from the inlined Chart.js, with no network', async () => {
    if (!chromium) throw new Error(`DISTILLERY_REQUIRE_CHROMIUM=1 but no chromium at $CHROMIUM (${process.env.CHROMIUM ?? 'unset'}), /usr/bin/chromium or /usr/bin/chromium-browser`);
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-report-'));
    const io = memoryIo(tinyPipeline());
    const result = await runPipeline({ ...(await io.loadPipeline('p.yaml', { logger: { info: () => {}, warn: () => {} } })), out, backend: 'cpu' });
    const html = readFileSync(result.report!, 'utf8');
    // Self-contained: no element loads anything (the Chart.js banner comment names its site, nothing fetches it).
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    const { stdout } = await promisify(execFile)(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(out, 'chromium-profile')}`,
      '--virtual-time-budget=5000', '--dump-dom', `file://${result.report}`,
    ], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    const status = /<p id="render-status"([^>]*)>/.exec(stdout)?.[1] ?? '';
    const attr = (name: string) => new RegExp(`${name}="(\\d+)"`).exec(status)?.[1];
    // Two stages, each with a loss chart and an evaluation chart.
    expect([attr('data-charts-total'), attr('data-charts-rendered'), attr('data-charts-painted')]).toEqual(['4', '4', '4']);
    const canvases = [...stdout.matchAll(/<canvas data-chart="([^"]+)"[^>]*>/g)];
    expect(canvases.map((m) => m[1])).toEqual(['loss-0', 'eval-0', 'loss-1', 'eval-1']);
    for (const [tag, id] of canvases) {
      expect(tag, id).toContain('data-rendered="true"');
      expect(Number(/data-painted-pixels="(\d+)"/.exec(tag)?.[1]), id).toBeGreaterThan(1000);
      // The first series (the total loss, or the first metric) drew its line.
      expect(Number(/data-series-pixels="(\d+)/.exec(tag)?.[1]), id).toBeGreaterThan(50);
    }
    expect(stdout.match(/<tr data-role="(teacher|student)">/g)).toHaveLength(3);
    // `distillery report` writes it again from metrics.jsonl; a folder without one is bad input.
    const again = memoryIo(tinyPipeline());
    expect(await main(['report', out], again)).toBe(0);
    expect(again.out).toBe(`${result.report}\n`);
    expect(await main(['report', path.join(out, 'students')], again)).toBe(2);
    expect(again.err).toContain('no metrics.jsonl (not a run folder)');
  });
});
