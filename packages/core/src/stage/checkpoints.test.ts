import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDistillery, selectBackend, silentLogger, type CheckpointEvent, type StageConfig } from '@distillery/core';
import { StageCheckpoints, type StageProgress } from './checkpoints.js';
import { StageEvents } from './events.js';
import { disposeSetup, setupStage } from './setup.js';
import { trainStep } from './step.js';
import { linearLoss, Probe, probeData } from './probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

const tmp = () => fs.mkdtemp(path.join(os.tmpdir(), 'distillery-stage-ckpt-'));

/** The parts a stage's checkpoints work with, over a Probe: 10 examples in batches of 4 (3 steps per epoch). */
function parts(dir: string | undefined, { resume = false, w0 = [0.5, -0.5] } = {}) {
  const student = new Probe(w0);
  const events: CheckpointEvent[] = [];
  const config: StageConfig = {
    name: 'fit', student, losses: [{ use: linearLoss('lin', (step) => [step, -1]) }], data: { train: probeData(10) }, batchSize: 4,
    optimizer: { learningRate: 0.1 }, ...(dir === undefined ? {} : { checkpoint: { dir, resume } }),
    callbacks: [{ onCheckpoint: (e) => { events.push(e); } }],
  };
  const registry = createDistillery({ logger: silentLogger }).plugins;
  const setup = setupStage({ config, student }, registry, silentLogger);
  const progress: StageProgress = { step: 0, history: [] };
  const checkpoints = new StageCheckpoints(config, setup, progress, new StageEvents(config, registry), student);
  const step = () => { trainStep({ stage: 'fit', setup, student, lastCheckpoint: () => undefined }, setup.train.batch([0, 1, 2, 3]), ++progress.step); };
  const dispose = () => { disposeSetup(setup); student.dispose(); };
  return { student, setup, progress, checkpoints, events, step, dispose };
}

describe('StageCheckpoints', () => {
  it('last/ holds what an exact resume needs: weights, optimizer moments and step, progress, position', async () => {
    const dir = await tmp();
    const a = parts(dir);
    a.step(); a.step();
    a.progress.history.push({ epoch: 0, step: 2, metrics: { accuracy: 0.5 } });
    a.progress.best = { metric: 'accuracy', value: 0.5, epoch: 0, step: 2 };
    await a.checkpoints.writeLast({ epoch: 0, batchInEpoch: 2 });
    expect(a.checkpoints.lastWritten).toBe(path.join(dir, 'last'));
    expect(a.events).toEqual([{ stage: 'fit', step: 2, dir: path.join(dir, 'last'), kind: 'last' }]);

    const b = parts(dir, { resume: true, w0: [9, 9] });
    expect(await b.checkpoints.resume()).toEqual({ epoch: 0, batchInEpoch: 2 });
    expect(b.student.values()).toEqual(a.student.values());
    expect(b.progress).toEqual(a.progress);
    expect(b.setup.optimizer.step).toBe(2);
    // The same third step from both gives the same weights: the moments came back too.
    a.step(); b.step();
    expect(b.student.values()).toEqual(a.student.values());
    a.dispose(); b.dispose();
  });

  it('a position at the end of an epoch resumes at the next one; without resume, or without last/, it starts over', async () => {
    const dir = await tmp();
    const a = parts(dir);
    a.step();
    await a.checkpoints.writeLast({ epoch: 1, batchInEpoch: 3 });
    const b = parts(dir, { resume: true });
    expect(await b.checkpoints.resume()).toEqual({ epoch: 2, batchInEpoch: 0 });
    const c = parts(dir);
    expect(await c.checkpoints.resume()).toEqual({ epoch: 0, batchInEpoch: 0 });
    expect(c.progress.step).toBe(0);
    const d = parts(path.join(dir, 'elsewhere'), { resume: true });
    expect(await d.checkpoints.resume()).toEqual({ epoch: 0, batchInEpoch: 0 });
    for (const p of [a, b, c, d]) p.dispose();
  });

  it('best/ holds the weights and the student\'s export; it is read back only when resuming with a best on record', async () => {
    const dir = await tmp();
    const a = parts(dir);
    a.step();
    a.progress.best = { metric: 'loss', value: 0.1, epoch: 0, step: 1 };
    await a.checkpoints.writeBest({ epoch: 0, batchInEpoch: 1 });
    expect(JSON.parse(await fs.readFile(path.join(dir, 'best', 'model', 'probe.json'), 'utf8'))).toEqual(a.student.values());
    expect(a.events.map((e) => e.kind)).toEqual(['best']);
    await a.checkpoints.writeLast({ epoch: 0, batchInEpoch: 1 });

    const copy = a.setup.variables.map(({ variable }) => tf.variable(tf.zerosLike(variable), false));
    const fresh = parts(dir);
    expect(await fresh.checkpoints.loadBest(copy)).toBe(false);
    const resumed = parts(dir, { resume: true });
    await resumed.checkpoints.resume();
    expect(await resumed.checkpoints.loadBest(copy)).toBe(true);
    expect(copy.map((v) => Array.from(v.dataSync()))).toEqual([a.student.values().w, a.student.values().b]);
    tf.dispose(copy);
    for (const p of [a, fresh, resumed]) p.dispose();
  });

  it('without checkpoint.dir nothing is written', async () => {
    const a = parts(undefined);
    a.step();
    await a.checkpoints.writeLast({ epoch: 0, batchInEpoch: 1 });
    await a.checkpoints.writeBest({ epoch: 0, batchInEpoch: 1 });
    expect([a.checkpoints.lastDir, a.checkpoints.lastWritten, a.events]).toEqual([undefined, undefined, []]);
    a.dispose();
  });
});
