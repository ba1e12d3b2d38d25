// A step's memory is estimated before the first step (stage/memory.ts): far past the backend's limit
// it is refused with the numbers, near it a warning; a backend that still runs out of memory mid-step
// is reported as such; and whatever ends a stage, the first error is the one reported (release.ts).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, backendMemoryLimit, createDistillery, defineLossPlugin, disposeBatch, DistilleryError, REFUSE_ABOVE, selectBackend, silentLogger,
  type Logger, type StageConfig, type StepShape,
} from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { releaseAll } from '../internals/release.js';

const task = { numClasses: 3, vocabSize: 40, seqLength: 10 };
const trainData = syntheticTask({ ...task, size: 64, seed: 1 });
// One source for every stage: it holds the data as tensors.
const train = arraySource(trainData);

/** An MLP student whose estimate is `bytes(shape)`, recording the shapes it was asked about. */
function estimating(bytes: (shape: StepShape) => number, asked: StepShape[] = []) {
  const student = new MlpClassifier({ vocabSize: 40, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed: 5 });
  return Object.assign(student, {
    estimateMemory: (shape: StepShape) => {
      asked.push(shape);
      return { bytes: bytes(shape), detail: `test activations at ${shape.batchSize} × ${shape.sequenceLength} tokens` };
    },
  });
}

function stage(overrides: Partial<StageConfig>): StageConfig {
  return {
    name: 'fit', losses: [{ use: 'supervised' }], data: { train },
    epochs: 1, batchSize: 16, optimizer: { learningRate: 0.05, schedule: 'constant' }, ...overrides,
    student: overrides.student ?? estimating(() => 0),
  };
}

const recording = () => {
  const warnings: string[] = [];
  const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m) };
  return { warnings, logger };
};

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  disposeBatch(train.batch([0]));   // the source uploads its data on first use
});

describe('the memory estimate before the first step', () => {
  it('refuses a step estimated past the limit, with the batch, the tokens, the parts and the batch size that fits; nothing is written', async () => {
    const limit = backendMemoryLimit()!;
    const perRow = limit.bytes / 4;   // 16 rows: 4 times the limit; 3 rows fit under 90 %
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-memory-'));
    const asked: StepShape[] = [];
    const student = estimating((s) => s.batchSize * perRow, asked);
    const before = tf.memory().numTensors;
    const error = await createDistillery({ logger: silentLogger }).runStage(stage({ student, checkpoint: { dir } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistilleryError);
    expect((error as DistilleryError).code).toBe('memory');
    const message = (error as Error).message;
    expect(message).toMatch(/^stage 'fit': one training step at batchSize 16 × 10 tokens needs about [\d.]+ GiB of this machine's memory/);
    expect(message).toContain('mlp');
    expect(message).toContain('test activations at 16 × 10 tokens');
    expect(message).toMatch(/lower batchSize \(3 fits with a margin, at 10 tokens\) or the data's maxLength/);
    // Asked once, for a training forward of the stage's batch and the rows' length.
    expect(asked).toEqual([expect.objectContaining({ batchSize: 16, sequenceLength: 10, training: true })]);
    expect(await fs.readdir(dir)).toEqual([]);
    // Nothing the stage made stays allocated (the optimizer and losses were freed).
    expect(tf.memory().numTensors).toBe(before);
    student.dispose();
  });

  it('warns near the limit and trains', async () => {
    const limit = backendMemoryLimit()!;
    const { warnings, logger } = recording();
    const result = await createDistillery({ logger }).runStage(stage({ student: estimating(() => limit.bytes) }));
    expect(result.status).toBe('completed');
    expect(warnings.some((w) => /^stage 'fit': one training step at batchSize 16 × 10 tokens needs about .* it may not fit: if it fails for memory, lower batchSize/.test(w))).toBe(true);
  });

  it('says nothing far below the limit, and refuses just above REFUSE_ABOVE times it', async () => {
    const limit = backendMemoryLimit()!;
    const { warnings, logger } = recording();
    await createDistillery({ logger }).runStage(stage({ student: estimating(() => limit.bytes / 100) }));
    expect(warnings).toEqual([]);
    await expect(createDistillery({ logger }).runStage(stage({ student: estimating(() => REFUSE_ABOVE * limit.bytes) })))
      .rejects.toThrow(/even one row of 10 tokens does not fit|lower batchSize/);
  });

  it('a backend out of memory mid-step is reported as such, with the step, the batch and the estimate', async () => {
    const student = estimating(() => 1000);
    const forward = student.forward.bind(student);
    let calls = 0;
    student.forward = (batch, features, options) => {
      if (options?.training && ++calls === 2) throw new RangeError('memory access out of bounds');
      return forward(batch, features, options);
    };
    const error = await createDistillery({ logger: silentLogger }).runStage(stage({ student })).catch((e: unknown) => e);
    expect((error as DistilleryError).code).toBe('memory');
    expect((error as Error).message).toMatch(/^stage 'fit': the backend ran out of memory at step 2 \(memory access out of bounds\) with batchSize 16; estimated before the first step: [\d.]+ GiB at batchSize 16 × 10 tokens; lower batchSize/);
    expect((error as Error).cause).toBeInstanceOf(RangeError);
  });
});

describe('the first error is the one reported', () => {
  it('a loss that fails, then fails again when freed: the first failure is thrown, the second logged', async () => {
    const failing = defineLossPlugin({
      name: 'failing',
      create: () => ({
        name: 'failing', teacherFeatures: new Set(), studentFeatures: new Set(['logits'] as const), variables: [],
        compute: () => { throw new Error('first failure: compute'); },
        dispose: () => { throw new Error('second failure: dispose'); },
      }),
    });
    const { warnings, logger } = recording();
    const d = createDistillery({ logger });
    d.use(failing);
    await expect(d.runStage(stage({ losses: [{ use: 'failing' }] }))).rejects.toThrow('first failure: compute');
    expect(warnings).toEqual([expect.stringMatching(/^stage 'fit': freeing memory after a failure failed too \(Error: second failure: dispose\); the first failure is the error reported$/)]);
  });

  it('releaseAll runs every step; after success it throws the first release error, after a failure it only logs', () => {
    const ran: number[] = [];
    const steps = [() => { ran.push(1); throw new Error('a'); }, () => { ran.push(2); }, () => { ran.push(3); throw new Error('b'); }];
    expect(() => releaseAll(steps, { logger: silentLogger, where: 'x', failed: false })).toThrow(/^a$/);
    expect(ran).toEqual([1, 2, 3]);
    const { warnings, logger } = recording();
    expect(() => releaseAll(steps, { logger, where: 'x', failed: true })).not.toThrow();
    expect(warnings).toHaveLength(2);
    expect(ran).toEqual([1, 2, 3, 1, 2, 3]);
  });
});
