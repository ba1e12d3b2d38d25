// The example pipelines of examples/spam: every file loads (schema, plugins, SpamAssassin, tokenizer,
// all checks), and the smoke pipeline runs end to end.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, silentLogger, type StepEvent } from '@distillery/core';
import { loadPipelineFile } from './index.js';
import { memoryLogger, REPO } from './config-fixtures.test-util.js';

const folder = path.join(REPO, 'examples', 'spam');
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

describe('examples/spam', () => {
  it('has the full, smoke and teacher-assistant pipelines', () => {
    expect(files).toEqual(['pipeline.smoke.yaml', 'pipeline.takd.yaml', 'pipeline.yaml']);
  });

  it.each(files)('%s loads and passes every check', async (file) => {
    const logger = memoryLogger();
    const loaded = await loadPipelineFile(path.join(folder, file), { logger });
    expect(loaded.stages.length).toBeGreaterThanOrEqual(2);
    expect(loaded.datasets.train.labels).toEqual(['ham', 'spam']);
    if (file === 'pipeline.takd.yaml') {
      expect(loaded.stages.map((s) => s.name)).toEqual(['teacher', 'takd-assistant-1', 'takd-student']);
      expect(logger.lines.some((l) => l.includes("teacher-assistant 'takd': one assistant 4x32"))).toBe(true);
    }
  });

  it('pipeline.smoke.yaml runs both stages (fine-tune, then Hinton + MiniLM distillation)', async () => {
    const loaded = await loadPipelineFile(path.join(folder, 'pipeline.smoke.yaml'), { logger: silentLogger });
    const steps: StepEvent[] = [];
    for (const s of loaded.stages) s.callbacks = [{ onStep: (e) => { steps.push(e); } }];
    const started = Date.now();
    const result = await loaded.run();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.status).toBe('completed');
    expect(result.stages.map((s) => [s.stage, s.steps, s.history.length])).toEqual([['teacher', 4, 1], ['student', 4, 1]]);
    const last = steps.at(-1)!;
    expect(Object.keys(last.terms)).toEqual(expect.arrayContaining(['hinton.soft', 'minilm.attention', 'minilm.valueRelation']));
    expect(steps.every((e) => Number.isFinite(e.loss))).toBe(true);
  });
});
