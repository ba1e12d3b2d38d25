// Every kind of checkpoint damage a resume can meet, and what happens: a fallback to the newest intact
// checkpoint with a warning that names what was skipped, or an error naming the folder — never a silent
// restart from step 0 and never damaged weights loaded.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, DistilleryError, loadCheckpoint, saveCheckpoint, selectBackend, silentLogger, type Logger,
  type StageConfig,
} from '@distillery/core';
import * as tf from '@tensorflow/tfjs-core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';

const task = { numClasses: 3, vocabSize: 40, seqLength: 10 };
const trainData = syntheticTask({ ...task, size: 160, seed: 1 });
const validData = syntheticTask({ ...task, size: 80, seed: 2 });
const newStudent = (seed = 5) => new MlpClassifier({ vocabSize: 40, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed });

/** 10 steps an epoch, 3 epochs, keeps the best epoch: last/ and best/ both written. */
const stage = (dir: string, student = newStudent()): StageConfig => ({
  name: 'fit', student, losses: [{ use: 'supervised' }],
  data: { train: arraySource(trainData), validation: arraySource(validData) },
  epochs: 3, batchSize: 16, optimizer: { learningRate: 0.05, schedule: 'constant' }, checkpoint: { dir, resume: true },
});

let root: string;
/** A run interrupted after step 13: last/ at step 13, best/ at step 10 (the first epoch's evaluation). */
let template: string;

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'distillery-damage-'));
  template = path.join(root, 'template');
  const controller = new AbortController();
  const result = await createDistillery({ logger: silentLogger }).runStage({
    ...stage(template), callbacks: [{ onStep: (e) => { if (e.step === 13) controller.abort(); } }],
  }, { signal: controller.signal });
  expect(result.status).toBe('interrupted');
  expect((await loadCheckpoint(path.join(template, 'best'))).state.step).toBe(10);
});

let counter = 0;
async function copyOfTemplate(): Promise<string> {
  const dir = path.join(root, `case-${counter++}`);
  await fs.cp(template, dir, { recursive: true });
  return dir;
}

/** Rewrites a file of a checkpoint folder and its manifest entry, as a consistent but wrong writer would. */
async function rewrite(folder: string, file: string, content: string | Uint8Array, manifestPatch: Record<string, unknown> = {}) {
  await fs.writeFile(path.join(folder, file), content);
  const manifest = JSON.parse(await fs.readFile(path.join(folder, 'manifest.json'), 'utf8'));
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  manifest.files[file] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  await fs.writeFile(path.join(folder, 'manifest.json'), JSON.stringify({ ...manifest, ...manifestPatch }));
}

async function patchState(folder: string, patch: (state: Record<string, unknown>) => unknown, manifestPatch: Record<string, unknown> = {}) {
  const state = JSON.parse(await fs.readFile(path.join(folder, 'state.json'), 'utf8'));
  await rewrite(folder, 'state.json', JSON.stringify(patch(state)), manifestPatch);
}

/** Resumes the stage in `dir`; the warnings it logged and how it ended. */
async function resume(dir: string) {
  const warnings: string[] = [];
  const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m) };
  const before = tf.memory().numTensors;
  const student = newStudent(99);
  try {
    const result = await createDistillery({ logger }).runStage(stage(dir, student));
    return { result, warnings, error: undefined };
  } catch (error) {
    return { result: undefined, warnings, error: error as Error };
  } finally {
    student.dispose?.();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  }
}

interface DamageCase {
  what: string;
  damage: (dir: string) => Promise<void>;
  /** Pattern of the reason the skipped `last/` is named with. */
  reason: RegExp;
}

const last = (dir: string) => path.join(dir, 'last');
const flipByte = async (file: string, at: number) => {
  const bytes = new Uint8Array(await fs.readFile(file));
  bytes[at] ^= 0x40;
  await fs.writeFile(file, bytes);
};

const cases: DamageCase[] = [
  { what: 'a flipped byte in the weights', reason: /weights\.safetensors does not match its SHA-256/,
    damage: async (d) => flipByte(path.join(last(d), 'weights.safetensors'), 200) },
  { what: 'a flipped byte in the optimizer moments', reason: /optimizer\.safetensors does not match its SHA-256/,
    damage: async (d) => flipByte(path.join(last(d), 'optimizer.safetensors'), 150) },
  { what: 'a missing optimizer.safetensors', reason: /optimizer\.safetensors is missing \(the manifest lists it\)/,
    damage: async (d) => fs.rm(path.join(last(d), 'optimizer.safetensors')) },
  { what: 'a missing optimizer.safetensors, also gone from the manifest', reason: /holds no optimizer moments/,
    damage: async (d) => {
      await fs.rm(path.join(last(d), 'optimizer.safetensors'));
      const m = JSON.parse(await fs.readFile(path.join(last(d), 'manifest.json'), 'utf8'));
      delete m.files['optimizer.safetensors'];
      await fs.writeFile(path.join(last(d), 'manifest.json'), JSON.stringify(m));
    } },
  { what: 'a missing state.json', reason: /state\.json is missing/, damage: async (d) => fs.rm(path.join(last(d), 'state.json')) },
  { what: 'a missing manifest.json', reason: /has no manifest\.json/, damage: async (d) => fs.rm(path.join(last(d), 'manifest.json')) },
  { what: 'a manifest that is not JSON', reason: /manifest\.json is not valid JSON/,
    damage: async (d) => fs.writeFile(path.join(last(d), 'manifest.json'), '{"format": "distillery-checkpoint/2", ') },
  { what: 'a manifest of null', reason: /manifest\.json is not a checkpoint manifest/,
    damage: async (d) => fs.writeFile(path.join(last(d), 'manifest.json'), 'null') },
  { what: 'state.json of null', reason: /state\.json is not a checkpoint state/, damage: async (d) => rewrite(last(d), 'state.json', 'null') },
  { what: 'state.json without its variables', reason: /state\.json is not a checkpoint state \(variables:/,
    damage: async (d) => patchState(last(d), ({ variables: _, ...rest }) => rest) },
  { what: 'step −5', reason: /state\.json is not a checkpoint state \(step:/, damage: async (d) => patchState(last(d), (s) => ({ ...s, step: -5 })) },
  { what: 'step "x"', reason: /state\.json is not a checkpoint state \(step:/, damage: async (d) => patchState(last(d), (s) => ({ ...s, step: 'x' })) },
  { what: 'step 1e9, manifest agreeing', reason: /is at step 1000000000, past the stage's last step 30/,
    damage: async (d) => patchState(last(d), (s) => ({ ...s, step: 1e9 }), { step: 1e9 }) },
  { what: 'a state that disagrees with the manifest', reason: /disagrees with manifest\.json/,
    damage: async (d) => patchState(last(d), (s) => ({ ...s, step: 12 })) },
  { what: "another stage's checkpoint", reason: /belongs to stage 'other', not to stage 'fit'/,
    damage: async (d) => patchState(last(d), (s) => ({ ...s, stage: 'other' }), { stage: 'other' }) },
  { what: 'a weights file cut short (manifest agreeing)', reason: /weights\.safetensors/,
    damage: async (d) => {
      const bytes = new Uint8Array(await fs.readFile(path.join(last(d), 'weights.safetensors')));
      await rewrite(last(d), 'weights.safetensors', bytes.subarray(0, bytes.length - 8));
    } },
  { what: 'a manifest file outside the folder', reason: /names a file outside the folder: \.\.\/best\/state\.json/,
    damage: async (d) => {
      const m = JSON.parse(await fs.readFile(path.join(last(d), 'manifest.json'), 'utf8'));
      m.files['../best/state.json'] = m.files['state.json'];
      await fs.writeFile(path.join(last(d), 'manifest.json'), JSON.stringify(m));
    } },
];

describe('checkpoint damage on resume', () => {
  for (const c of cases) {
    it(`last/ with ${c.what}: falls back to best/ with a warning naming last/ and the reason`, async () => {
      const dir = await copyOfTemplate();
      await c.damage(dir);
      const { result, warnings, error } = await resume(dir);
      expect(error).toBeUndefined();
      expect(result!.status).toBe('completed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`checkpoint ${last(dir)}`);
      expect(warnings[0]).toMatch(c.reason);
      expect(warnings[0]).toContain(`resuming from ${path.join(dir, 'best')} at step 10 (best/ holds no optimizer moments`);
    });
  }

  it('the same damage with best/ damaged too: an error naming both folders, nothing trained', async () => {
    const dir = await copyOfTemplate();
    await flipByte(path.join(last(dir), 'weights.safetensors'), 200);
    await fs.rm(path.join(dir, 'best', 'manifest.json'));
    const lastBytes = await fs.readFile(path.join(last(dir), 'weights.safetensors'));
    const { error } = await resume(dir);
    expect(error).toBeInstanceOf(DistilleryError);
    expect(error!.message).toMatch(/no intact checkpoint to resume from/);
    expect(error!.message).toContain(`checkpoint ${last(dir)}:`);
    expect(error!.message).toContain(`checkpoint ${path.join(dir, 'best')}: has no manifest.json`);
    // Nothing on disk was touched.
    expect((await fs.readFile(path.join(last(dir), 'weights.safetensors'))).equals(lastBytes)).toBe(true);
  });

  it('a damaged last/ with an intact last.old-* beside it resumes from the old one (moments kept)', async () => {
    const dir = await copyOfTemplate();
    await fs.cp(last(dir), `${last(dir)}.old-1-1700000000000`, { recursive: true });
    await flipByte(path.join(last(dir), 'weights.safetensors'), 200);
    const { result, warnings } = await resume(dir);
    expect(result!.status).toBe('completed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`resuming from ${last(dir)}.old-1-1700000000000 at step 13`);
    expect(warnings[0]).not.toContain('AdamW starts afresh');
  });

  it('last/ gone, best/ intact: resumes from best/ and says so', async () => {
    const dir = await copyOfTemplate();
    await fs.rm(last(dir), { recursive: true });
    const { result, warnings } = await resume(dir);
    expect(result!.status).toBe('completed');
    expect(warnings[0]).toMatch(/no .*last; resuming from .*best at step 10 \(best\/ holds no optimizer moments/);
  });

  it('a best evaluation on record whose best/ is gone is an error, not a switch to the last weights', async () => {
    const dir = await copyOfTemplate();
    await fs.rm(path.join(dir, 'best'), { recursive: true });
    const { error } = await resume(dir);
    expect(error).toBeInstanceOf(DistilleryError);
    expect(error!.message).toMatch(/stage 'fit': its checkpoint records a best evaluation \(accuracy=.* at step 10\) but .*best is gone/);
  });

  it('a best/ of another step than the best on record is an error', async () => {
    const dir = await copyOfTemplate();
    await patchState(path.join(dir, 'best'), (s) => ({ ...s, step: 7 }), { step: 7 });
    const { error } = await resume(dir);
    expect(error!.message).toMatch(/best is at step 7 but the best evaluation on record \(accuracy=.* at step 10\)/);
  });

  it('an intact checkpoint resumes without a warning', async () => {
    const dir = await copyOfTemplate();
    const { result, warnings } = await resume(dir);
    expect(result!.status).toBe('completed');
    expect(result!.steps).toBe(30);
    expect(warnings).toEqual([]);
  });

  it('saveCheckpoint writes a manifest naming every file with its size and SHA-256', async () => {
    const dir = path.join(root, 'manifest-check');
    const v = tf.variable(tf.tensor([1, 2, 3]), true, 'damage-test/v');
    await saveCheckpoint(dir, {
      state: { stage: 's', step: 2, epoch: 0, batchInEpoch: 2, seed: 1, history: [], config: {} },
      variables: [{ key: 'v', variable: v }],
      extra: async (tmp) => { await fs.mkdir(path.join(tmp, 'model')); await fs.writeFile(path.join(tmp, 'model', 'a.txt'), 'abc'); },
    });
    v.dispose();
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'distillery-checkpoint/2', stage: 's', step: 2, epoch: 0 });
    expect(Object.keys(manifest.files).sort()).toEqual(['model/a.txt', 'state.json', 'weights.safetensors']);
    expect(manifest.files['model/a.txt']).toEqual({ bytes: 3, sha256: createHash('sha256').update('abc').digest('hex') });
    // A changed extra file is caught too.
    await fs.writeFile(path.join(dir, 'model', 'a.txt'), 'abd');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/model\/a\.txt does not match its SHA-256/);
  });
});
