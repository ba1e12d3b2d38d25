// The CLI's teacher cache, through runPipeline and a pipeline file: who uses it, what it logs, exact losses, reuse, resume.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StageConfig, StepEvent, Student } from '@distillery/core';
import { loadPipelineFile } from '../config/index.js';
import { tempDir } from '../config/config-fixtures.test-util.js';
import { sentimentJsonl, tinyTokenizerJson, WORDS } from '../fixtures.test-util.js';
import { readMetrics, type MetricsRecord } from '../metrics-log.js';
import { Progress } from '../progress.js';
import { runPipeline, type RunPipelineResult } from '../run-pipeline.js';

const files = tempDir();
afterAll(() => files.cleanup());
files.write('tokenizer.json', JSON.stringify(tinyTokenizerJson(WORDS)));
files.write('train.jsonl', sentimentJsonl(40));
files.write('valid.jsonl', sentimentJsonl(16));
const VOCAB = 5 + WORDS.length;

/**
 * 'teacher' fine-tunes a 2x16 BERT; 'student' distils it into a BiLSTM with Hinton + supervised
 * (logits only: cached); 'masked' is the same on MLM-masked data, 'hidden' adds PKD (hidden states),
 * 'direct' distils from a BERT the teacher plugin builds (fingerprinted through BertModel.unwrap).
 */
const pipeline = (top = '') => files.write(`pipeline-${top ? 'off' : 'on'}.yaml`, `
backend: cpu
seed: 7
${top}
models:
  big: { type: bert, config: { vocab_size: ${VOCAB}, max_position_embeddings: 16, num_labels: 2, num_hidden_layers: 2, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 } }
  tiny: { type: bert, config: { vocab_size: ${VOCAB}, max_position_embeddings: 16, num_labels: 2, num_hidden_layers: 2, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16 } }
  small: { type: bilstm, embeddingSize: 8, units: 4, denseSize: 8 }
data:
  train: { type: jsonl, path: train.jsonl, tokenizer: tokenizer.json, maxLength: 16 }
  valid: { type: jsonl, path: valid.jsonl, tokenizer: tokenizer.json, maxLength: 16 }
stages:
  - { name: teacher, student: big, losses: [{ use: supervised }], data: { train: train, validation: valid }, batchSize: 8, maxSteps: 4,
      optimizer: { learningRate: 0.01 } }
  - { name: student, teacher: { stage: teacher }, student: small, data: { train: train, validation: valid }, batchSize: 8, epochs: 2,
      losses: [{ use: hinton, options: { temperature: 2 } }, { use: supervised, weight: 0.5 }], optimizer: { learningRate: 0.02 } }
  - { name: masked, teacher: { stage: teacher }, student: small, losses: [{ use: hinton }], data: { train: train }, mlm: { probability: 0.3 },
      batchSize: 8, maxSteps: 2 }
  - { name: hidden, teacher: { stage: teacher }, student: tiny, losses: [{ use: hinton }, { use: pkd, options: { projection: true } }],
      data: { train: train }, batchSize: 8, maxSteps: 2 }
  - { name: direct, teacher: big, student: small, losses: [{ use: hinton }], data: { train: train }, batchSize: 8, maxSteps: 2 }
`);

interface Observed {
  result: RunPipelineResult;
  log: string;
  /** Per stage, each step's loss, and how often the teacher's forward had run in that stage when the step was done. */
  steps: Map<string, { loss: number; teacherCalls: number }[]>;
}

/**
 * Runs the pipeline file through runPipeline, counting the forward calls of stage 'teacher''s
 * student (the teacher of the stages that name it) by wrapping its forward when it is built.
 */
async function run(file: string, out: string, options: { resume?: boolean; force?: boolean; stopAt?: [string, number] } = {}): Promise<Observed> {
  let log = '';
  const progress = new Progress({ stream: { write: (s: string) => { log += s; return true; } }, tty: false, every: 1000 });
  const loaded = await loadPipelineFile(file, { logger: progress.logger });
  const steps = new Map<string, { loss: number; teacherCalls: number }[]>();
  const calls = { n: 0 };
  const abort = new AbortController();
  const stages: StageConfig[] = loaded.stages.map((stage) => ({
    ...stage,
    callbacks: [...(stage.callbacks ?? []), {
      onStageStart: (_e: unknown, models: { student: Student }) => {
        calls.n = 0;
        steps.set(stage.name, []);
        if (stage.name !== 'teacher') return;
        const forward = models.student.forward.bind(models.student);
        models.student.forward = (...args) => { calls.n++; return forward(...args); };
      },
      onStep: (e: StepEvent) => {
        steps.get(e.stage)!.push({ loss: e.loss, teacherCalls: calls.n });
        if (options.stopAt?.[0] === e.stage && options.stopAt[1] === e.step) abort.abort();
      },
    }],
  }));
  const result = await runPipeline({
    distillery: loaded.distillery, stages, out, progress, report: false, compare: false, backend: 'cpu', signal: abort.signal,
    resume: options.resume, force: options.force,
  });
  return { result, log, steps };
}

const cacheLine = (stage: string, out: string, how: string) =>
  new RegExp(`^stage '${stage}': teacher logits read from the cache ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/cache/logits-[0-9a-f]{16} \\(${how}\\)$`, 'm');
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

describe('the CLI teacher cache', () => {
  const on = pipeline();
  const out = path.join(files.dir, 'run-on');
  let first: Observed;

  it('serves a logits-only stage from <out>/cache, says so, and gives the losses of the live teacher', async () => {
    first = await run(on, out);
    expect(first.result.status).toBe('completed');
    expect(first.log).toMatch(cacheLine('student', out, 'built now in \\d+\\.\\d s'));
    expect(first.log).toMatch(cacheLine('direct', out, 'built now in \\d+\\.\\d s'));
    expect(first.log).toContain("stage 'masked': teacher logits not cached: its training data is MLM-masked, and the teacher must see each draw of masks\n");
    expect(first.log).not.toContain("stage 'hidden': teacher logits");
    expect(first.log).not.toContain("stage 'teacher': teacher logits");
    // 'student' and 'direct': one folder each (two teachers).
    expect(readdirSync(path.join(out, 'cache')).filter((d) => d.startsWith('logits-'))).toHaveLength(2);
    // The teacher ran only to build the cache: ceil(40 / 32) = 2 forwards before step 1, none after.
    expect(first.steps.get('student')!.map((s) => s.teacherCalls)).toEqual(Array(10).fill(2));
    expect(first.steps.get('masked')!.map((s) => s.teacherCalls)).toEqual([1, 2]);
    expect(first.steps.get('hidden')!.map((s) => s.teacherCalls)).toEqual([1, 2]);

    const off = await run(pipeline('teacherCache: false'), path.join(files.dir, 'run-off'));
    expect(off.log).not.toContain('teacher logits');
    expect(existsSync(path.join(files.dir, 'run-off', 'cache'))).toBe(false);
    expect(off.steps.get('student')!.map((s) => s.teacherCalls)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (const stage of ['student', 'direct', 'masked', 'hidden']) {
      const [cached, live] = [first.steps.get(stage)!, off.steps.get(stage)!];
      expect(cached.length, stage).toBe(live.length);
      cached.forEach((s, i) => expect(close(s.loss, live[i].loss), `${stage} step ${i + 1}: ${s.loss} vs ${live[i].loss}`).toBe(true));
    }
  });

  it('records each stage wall time and the cache in metrics.jsonl and run.json', () => {
    const records = readMetrics(path.join(out, 'metrics.jsonl'));
    const ends = records.filter((r) => r.event === 'stage-end');
    expect(ends.map((r) => r.stage)).toEqual(['teacher', 'student', 'masked', 'hidden', 'direct']);
    for (const r of ends) expect(r.wallSeconds).toBeGreaterThan(0);
    const cache = records.filter((r) => r.event === 'teacher-cache');
    expect(cache.map((r) => [r.stage, r.built])).toEqual([['student', true], ['direct', true]]);
    for (const r of cache) expect(r.seconds).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(manifest.stages.map((s: { wallSeconds: number }) => s.wallSeconds)).toEqual(ends.map((r) => r.wallSeconds));
  });

  it('a second run in the folder reuses the cache: the teacher does not run, the losses are the same', async () => {
    const again = await run(on, out, { force: true });
    expect(again.log).toMatch(cacheLine('student', out, 'reused'));
    expect(again.log).toMatch(cacheLine('direct', out, 'reused'));
    expect(again.steps.get('student')!.every((s) => s.teacherCalls === 0)).toBe(true);
    expect(again.steps.get('student')!.map((s) => s.loss)).toEqual(first.steps.get('student')!.map((s) => s.loss));
    const cache = readMetrics(path.join(out, 'metrics.jsonl')).filter((r) => r.event === 'teacher-cache');
    expect(cache.map((r) => r.built)).toEqual([false, false]);
  });

  it('--resume in a cached stage reuses the cache and ends with the same student, byte for byte', async () => {
    const dir = path.join(files.dir, 'run-resume');
    const stopped = await run(on, dir, { stopAt: ['student', 3] });
    expect(stopped.result.status).toBe('interrupted');
    expect(stopped.log).toMatch(cacheLine('student', dir, 'built now in \\d+\\.\\d s'));
    const resumed = await run(on, dir, { resume: true });
    expect(resumed.result.status).toBe('completed');
    expect(resumed.log).toMatch(cacheLine('student', dir, 'reused'));
    expect(resumed.steps.get('student')!.map((s) => s.loss)).toEqual(first.steps.get('student')!.slice(3).map((s) => s.loss));
    for (const stage of ['teacher', 'student', 'direct']) {
      const folder = path.join(dir, 'students', stage);
      for (const name of readdirSync(folder)) {
        expect(readFileSync(path.join(folder, name)).equals(readFileSync(path.join(out, 'students', stage, name))), `${stage}/${name}`).toBe(true);
      }
    }
    // The interrupted stage's wall time adds up both invocations.
    type StageEnd = Extract<MetricsRecord, { event: 'stage-end' }>;
    const ends = readMetrics(path.join(dir, 'metrics.jsonl')).filter((r): r is StageEnd => r.event === 'stage-end' && r.stage === 'student');
    expect(ends.map((r) => r.status)).toEqual(['interrupted', 'completed']);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8'));
    const total = ends.reduce((sum, r) => sum + (r.wallSeconds ?? 0), 0);
    expect(manifest.stages.find((s: { stage: string }) => s.stage === 'student').wallSeconds).toBeCloseTo(total, 3);
  });
});
