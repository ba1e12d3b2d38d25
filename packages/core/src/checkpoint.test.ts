import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW, assignWeights, DistilleryError, hasCheckpoint, loadCheckpoint, saveCheckpoint, selectBackend, silentLogger,
  type CheckpointState,
} from '@distillery/core';
import { writeDirAtomic, writeFileAtomic } from '@distillery/core/kit';

let root: string;
beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-ckpt-test-'));
});
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

let counter = 0;
const fresh = async () => fs.mkdtemp(path.join(root, `case${counter++}-`));
const variable = (values: number[], shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
  tf.tidy(() => tf.variable(tf.tensor(values, shape, dtype), dtype === 'float32', `ckpt-test/v${counter++}`));

const baseState = (step: number): Omit<CheckpointState, 'format' | 'variables' | 'savedAt'> => ({
  stage: 'task', step, epoch: 1, batchInEpoch: 3, seed: 42,
  best: { metric: 'accuracy', value: 0.75, epoch: 0, step: 4 },
  history: [{ epoch: 0, step: 4, metrics: { accuracy: 0.75, f1: 0.5 } }],
  config: { learningRate: 0.01, nested: { a: [1, 2] } },
});

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips variables, optimizer moments, step and state', async () => {
    const dir = path.join(await fresh(), 'ckpt');
    const W = variable([0.5, -1, 2, 0.25, -0.75, 1.5], [2, 3]);
    const b = variable([0.1, -0.2, 0.3], [3]);
    const count = variable([7, -3], [2], 'int32');
    const opt = new AdamW([W, b, count]);
    for (let t = 1; t <= 2; t++) {
      const g = { [W.name]: tf.fill([2, 3], 0.1 * t), [b.name]: tf.tensor([0.3, -0.1, 0.2]) };
      opt.applyGradients(g, 0.01);
      tf.dispose(Object.values(g));
    }
    const vars = [{ key: 'enc.W', variable: W }, { key: 'enc.b', variable: b }, { key: 'count', variable: count }];
    await saveCheckpoint(dir, { state: baseState(2), variables: vars, optimizer: opt.getState() });

    expect((await fs.readdir(dir)).sort()).toEqual(['manifest.json', 'optimizer.safetensors', 'state.json', 'weights.safetensors']);
    // Nothing else is left beside it (no temporary or .old folder).
    expect(await fs.readdir(path.dirname(dir))).toEqual(['ckpt']);
    expect(await hasCheckpoint(dir)).toBe(true);

    const loaded = await loadCheckpoint(dir);
    expect(loaded.dir).toBe(dir);
    expect(loaded.state.format).toBe('distillery-checkpoint/2');
    expect(loaded.state).toMatchObject(baseState(2));
    expect(loaded.state.variables).toEqual([
      { key: 'enc.W', name: W.name, shape: [2, 3] },
      { key: 'enc.b', name: b.name, shape: [3] },
      { key: 'count', name: count.name, shape: [2] },
    ]);
    expect(Number.isNaN(Date.parse(loaded.state.savedAt))).toBe(false);

    expect(loaded.weights.map((w) => w.shape)).toEqual([[2, 3], [3], [2]]);
    expect(Array.from(loaded.weights[0].data)).toEqual(Array.from(W.dataSync()));
    expect(Array.from(loaded.weights[1].data)).toEqual(Array.from(b.dataSync()));
    expect(loaded.weights[2].data).toBeInstanceOf(Int32Array);
    expect(Array.from(loaded.weights[2].data)).toEqual([7, -3]);

    const state = opt.getState();
    expect(loaded.optimizer!.step).toBe(2);
    for (let i = 0; i < 3; i++) {
      expect(Array.from(loaded.optimizer!.m[i].data)).toEqual(Array.from(state.m[i].dataSync()));
      expect(Array.from(loaded.optimizer!.v[i].data)).toEqual(Array.from(state.v[i].dataSync()));
    }
    // The moments are not trivially zero (the round trip is meaningful).
    expect(Math.abs(loaded.optimizer!.m[0].data[0])).toBeGreaterThan(0.01);
    opt.dispose();
    tf.dispose([W, b, count]);
  });

  it('restored weights and moments continue training identically', async () => {
    const dir = path.join(await fresh(), 'ckpt');
    const grad = (t: number) => tf.tensor([0.2 * t, -0.5, 0.05 * t * t, 1], [2, 2]);
    const W = variable([1, -2, 0.5, 0.75], [2, 2]);
    const opt = new AdamW([W], { weightDecay: 0.1 });
    const step = (o: AdamW, v: tf.Variable, t: number) => {
      const g = { [v.name]: grad(t) };
      o.applyGradients(g, 0.02);
      tf.dispose(Object.values(g));
    };
    for (let t = 1; t <= 3; t++) step(opt, W, t);
    await saveCheckpoint(dir, { state: baseState(3), variables: [{ key: 'W', variable: W }], optimizer: opt.getState() });

    const W2 = variable([0, 0, 0, 0], [2, 2]);
    const opt2 = new AdamW([W2], { weightDecay: 0.1 });
    const loaded = await loadCheckpoint(dir);
    assignWeights([{ key: 'W', variable: W2 }], loaded.weights, loaded.dir);
    const m = loaded.optimizer!.m.map((s) => tf.tensor(s.data, s.shape));
    const v = loaded.optimizer!.v.map((s) => tf.tensor(s.data, s.shape));
    opt2.setState({ step: loaded.optimizer!.step, m, v });
    tf.dispose([...m, ...v]);
    expect(opt2.step).toBe(3);
    for (let t = 4; t <= 5; t++) { step(opt, W, t); step(opt2, W2, t); }
    expect(Array.from(W2.dataSync())).toEqual(Array.from(W.dataSync()));
    opt.dispose(); opt2.dispose();
    tf.dispose([W, W2]);
  });

  it('without an optimizer the loaded optimizer is undefined; extra files are included', async () => {
    const dir = path.join(await fresh(), 'ckpt');
    const W = variable([1, 2], [1, 2]);
    await saveCheckpoint(dir, {
      state: baseState(0), variables: [{ key: 'W', variable: W }],
      extra: async (tmp) => { await fs.writeFile(path.join(tmp, 'config.json'), '{"hidden":2}'); },
    });
    expect((await fs.readdir(dir)).sort()).toEqual(['config.json', 'manifest.json', 'state.json', 'weights.safetensors']);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.optimizer).toBeUndefined();
    expect(await fs.readFile(path.join(dir, 'config.json'), 'utf8')).toBe('{"hidden":2}');
    W.dispose();
  });

  it('saving again replaces the previous checkpoint and leaves no .old folder', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'ckpt');
    const W = variable([1, 2], [1, 2]);
    await saveCheckpoint(dir, { state: baseState(1), variables: [{ key: 'W', variable: W }] });
    tf.tidy(() => W.assign(tf.tensor([[3, 4]])));
    await saveCheckpoint(dir, { state: baseState(2), variables: [{ key: 'W', variable: W }] });
    expect(await fs.readdir(parent)).toEqual(['ckpt']);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.state.step).toBe(2);
    expect(Array.from(loaded.weights[0].data)).toEqual([3, 4]);
    W.dispose();
  });

  it('a missing checkpoint fails naming the folder; hasCheckpoint is false', async () => {
    const dir = path.join(await fresh(), 'nothing-here');
    expect(await hasCheckpoint(dir)).toBe(false);
    await expect(loadCheckpoint(dir)).rejects.toThrow(dir);
    await expect(loadCheckpoint(dir)).rejects.toBeInstanceOf(DistilleryError);
  });

  it('a folder with a state.json but no manifest (an older format) fails naming the folder and the manifest', async () => {
    const dir = path.join(await fresh(), 'ckpt');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify({ format: 'distillery-checkpoint/1' }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/has no manifest\.json: written by an older Distillery/);
    await expect(loadCheckpoint(dir)).rejects.toThrow(dir);
  });

  it('a corrupt weights file fails naming the file', async () => {
    const dir = path.join(await fresh(), 'ckpt');
    const W = variable([1, 2], [1, 2]);
    await saveCheckpoint(dir, { state: baseState(1), variables: [{ key: 'W', variable: W }] });
    const file = path.join(dir, 'weights.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 3));
    await expect(loadCheckpoint(dir)).rejects.toThrow(file);
    W.dispose();
  });

  it('falls back to <dir>.old-* when <dir> is missing (a crash between the two renames)', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'ckpt');
    const W = variable([5, 6, 7], [3]);
    await saveCheckpoint(dir, { state: baseState(9), variables: [{ key: 'W', variable: W }] });
    // writeDirAtomic renames <dir> to <dir>.old-<pid>-<time>, then the temp folder to <dir>.
    // Simulate dying in between: the old folder and a (partial) temp folder are left, <dir> is gone.
    const old = `${dir}.old-${process.pid}-${Date.now()}`;
    await fs.rename(dir, old);
    await fs.mkdir(path.join(parent, '.ckpt.tmp-abc123'));
    await fs.writeFile(path.join(parent, '.ckpt.tmp-abc123', 'weights.safetensors'), 'partial');

    expect(await hasCheckpoint(dir)).toBe(true);
    const loaded = await loadCheckpoint(dir);
    expect(loaded.dir).toBe(old);
    expect(loaded.state.step).toBe(9);
    expect(Array.from(loaded.weights[0].data)).toEqual([5, 6, 7]);
    W.dispose();
  });

  // Regression test (this was a bug, now fixed: checkpoint.ts, locate(): `olds ... .sort()` then the last one): the `.old-<pid>-<time>`
  // names are sorted as strings, so the pid decides, not the time. After one crash the old folder is
  // never removed (io/atomic.ts writeDirAtomic only removes the .old folder it made itself), so a
  // second crash by a process whose pid sorts lower as a string ('1000' < '999') makes
  // loadCheckpoint resume from the OLDER folder. Fix: pick the newest by the numeric <time> suffix
  // (or mtime), and have writeDirAtomic remove stale `<dir>.old-*` siblings once the new folder is in place.
  it('after two crashes mid-replace it resumes from the newest <dir>.old-* folder', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'ckpt');
    const W = variable([1], [1]);
    const save = (step: number) => saveCheckpoint(dir, { state: baseState(step), variables: [{ key: 'W', variable: W }] });
    // Run 1 (pid 999) saves step 1, then dies mid-replace: <dir> was renamed to .old-999-<t1>.
    await save(1);
    await fs.rename(dir, `${dir}.old-999-1700000000000`);
    // Run 2 (pid 1000) resumes, then saves step 2 normally: once the new folder is in place the
    // stale .old-999 folder is removed.
    expect((await loadCheckpoint(dir)).state.step).toBe(1);
    await save(2);
    expect((await fs.readdir(parent)).sort()).toEqual(['ckpt']);
    // It saves step 3 and dies mid-replace too: <dir> was renamed to .old-1000-<t2>, t2 > t1.
    await save(3);
    await fs.rename(dir, `${dir}.old-1000-1700000600000`);
    const loaded = await loadCheckpoint(dir);
    W.dispose();
    expect(loaded.dir).toBe(`${dir}.old-1000-1700000600000`);
    expect(loaded.state.step).toBe(3);
  });

  it('picks the newest <dir>.old-* by its time, not by string order', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'ckpt');
    const W = variable([1], [1]);
    const save = (step: number) => saveCheckpoint(dir, { state: baseState(step), variables: [{ key: 'W', variable: W }] });
    await save(1);
    await fs.cp(dir, path.join(parent, 'a'), { recursive: true });
    await save(5);
    await fs.rename(dir, path.join(parent, 'b'));
    W.dispose();
    // Two crashed replaces left these: pid 999 earlier (step 1), pid 1000 later (step 5).
    await fs.rename(path.join(parent, 'a'), `${dir}.old-999-1700000000000`);
    await fs.rename(path.join(parent, 'b'), `${dir}.old-1000-1700000600000`);
    expect((await loadCheckpoint(dir)).state.step).toBe(5);
  });
});

describe('assignWeights', () => {
  it('copies values into the variables', () => {
    const W = variable([0, 0, 0, 0], [2, 2]);
    const n = variable([0], [1], 'int32');
    const before = tf.memory().numTensors;
    assignWeights([{ key: 'W', variable: W }, { key: 'n', variable: n }], [
      { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { shape: [1], data: Int32Array.from([11]) },
    ], 'test');
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(W.dataSync())).toEqual([1, 2, 3, 4]);
    expect(n.dtype).toBe('int32');
    expect(Array.from(n.dataSync())).toEqual([11]);
    tf.dispose([W, n]);
  });

  it('a shape mismatch names the key and both shapes and changes nothing', () => {
    const W = variable([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = variable([1, 2], [2]);
    let error: unknown;
    try {
      assignWeights([{ key: 'enc.b', variable: b }, { key: 'enc.W', variable: W }], [
        { shape: [2], data: Float32Array.from([9, 9]) },
        { shape: [3, 2], data: new Float32Array(6) },
      ], '/runs/x/ckpt');
    } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DistilleryError);
    const message = (error as Error).message;
    expect(message).toContain("'enc.W'");
    expect(message).toContain('[2, 3]');
    expect(message).toContain('[3, 2]');
    expect(message).toContain('/runs/x/ckpt');
    // Checked before any assignment: the earlier, matching variable is untouched too.
    expect(Array.from(b.dataSync())).toEqual([1, 2]);
    expect(Array.from(W.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([W, b]);
  });

  it('a rank mismatch and a count mismatch fail', () => {
    const W = variable([1, 2], [2]);
    expect(() => assignWeights([{ key: 'W', variable: W }], [{ shape: [1, 2], data: new Float32Array(2) }], 's'))
      .toThrow(/'W'.*\[2\].*\[1, 2\]/);
    expect(() => assignWeights([{ key: 'W', variable: W }], [], 's')).toThrow(/0 variables.*1/);
    W.dispose();
  });
});

describe('writeDirAtomic / writeFileAtomic', () => {
  it('when fill() throws, an existing folder is untouched and no temp folder remains', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'out');
    await writeDirAtomic(dir, async (tmp) => { await fs.writeFile(path.join(tmp, 'a.txt'), 'first'); });
    expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('first');

    await expect(writeDirAtomic(dir, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'a.txt'), 'second');
      await fs.writeFile(path.join(tmp, 'b.txt'), 'half');
      throw new Error('disk full');
    })).rejects.toThrow('disk full');

    expect(await fs.readdir(parent)).toEqual(['out']);
    expect(await fs.readdir(dir)).toEqual(['a.txt']);
    expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('first');
  });

  it('when fill() throws and nothing existed, nothing is created', async () => {
    const parent = await fresh();
    await expect(writeDirAtomic(path.join(parent, 'out'), async () => { throw new Error('no'); })).rejects.toThrow('no');
    expect(await fs.readdir(parent)).toEqual([]);
  });

  it('replaces a folder whole: files of the old one do not survive', async () => {
    const parent = await fresh();
    const dir = path.join(parent, 'out');
    await writeDirAtomic(dir, async (tmp) => { await fs.writeFile(path.join(tmp, 'old.txt'), '1'); });
    await writeDirAtomic(dir, async (tmp) => { await fs.writeFile(path.join(tmp, 'new.txt'), '2'); });
    expect(await fs.readdir(dir)).toEqual(['new.txt']);
    expect(await fs.readdir(parent)).toEqual(['out']);
  });

  it('creates missing parent folders', async () => {
    const dir = path.join(await fresh(), 'a', 'b', 'out');
    await writeDirAtomic(dir, async (tmp) => { await fs.writeFile(path.join(tmp, 'x'), 'y'); });
    expect(await fs.readFile(path.join(dir, 'x'), 'utf8')).toBe('y');
  });

  it('writeFileAtomic writes or replaces a file and leaves no temporary file', async () => {
    const parent = await fresh();
    const file = path.join(parent, 'f.json');
    await writeFileAtomic(file, '{"a":1}');
    await writeFileAtomic(file, new Uint8Array([0x7b, 0x7d]));
    expect(await fs.readFile(file, 'utf8')).toBe('{}');
    expect(await fs.readdir(parent)).toEqual(['f.json']);
  });
});
