import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './io/safetensors.js';
import { writeDirAtomic, writeFileAtomic } from './io/atomic.js';
import { shapeText } from './internals/checks.js';

/** The training position and bookkeeping saved beside the weights. */
export interface CheckpointState {
  format: 'distillery-checkpoint/1';
  stage: string;
  /** Optimizer steps completed. */
  step: number;
  /** 0-based epoch in progress. */
  epoch: number;
  /** Batches of that epoch already trained on. */
  batchInEpoch: number;
  seed: number;
  /** Names and shapes of the saved variables, in order. */
  variables: { key: string; name: string; shape: number[] }[];
  /** Best evaluation so far. */
  best?: { metric: string; value: number; epoch: number; step: number };
  /** Evaluation per finished epoch. */
  history: { epoch: number; step: number; metrics: Record<string, number> }[];
  /** The stage configuration, as far as it is plain data. */
  config: unknown;
  /** When it was written (ISO time). */
  savedAt: string;
}

/** What a checkpoint holds once read. */
export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: StoredTensor[];
  optimizer: { step: number; m: StoredTensor[]; v: StoredTensor[] } | undefined;
}

const WEIGHTS = 'weights.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const STATE = 'state.json';

async function stored(t: tf.Tensor): Promise<StoredTensor> {
  const data = t.dtype === 'int32' ? new Int32Array(await t.data() as Int32Array) : new Float32Array(await t.data() as Float32Array);
  return { shape: [...t.shape], data };
}

/**
 * Writes a checkpoint folder atomically: weights and optimizer moments as safetensors, the state as
 * JSON. The previous checkpoint at `dir` stays intact until the new one is complete.
 */
export async function saveCheckpoint(dir: string, content: {
  state: Omit<CheckpointState, 'format' | 'variables' | 'savedAt'>;
  variables: { key: string; variable: tf.Variable }[];
  optimizer?: { step: number; m: tf.Tensor[]; v: tf.Tensor[] };
  /** Extra files to add (e.g. the student's own export), written into the folder before it is published. */
  extra?: (tmpDir: string) => Promise<void>;
}): Promise<void> {
  const weights: Record<string, StoredTensor> = {};
  for (const { key, variable } of content.variables) weights[key] = await stored(variable);
  let optimizer: Record<string, StoredTensor> | undefined;
  if (content.optimizer) {
    optimizer = {};
    for (let i = 0; i < content.optimizer.m.length; i++) {
      optimizer[`m.${content.variables[i].key}`] = await stored(content.optimizer.m[i]);
      optimizer[`v.${content.variables[i].key}`] = await stored(content.optimizer.v[i]);
    }
  }
  const state: CheckpointState = {
    format: 'distillery-checkpoint/1',
    ...content.state,
    variables: content.variables.map(({ key, variable }) => ({ key, name: variable.name, shape: [...variable.shape] })),
    savedAt: new Date().toISOString(),
  };
  await writeDirAtomic(dir, async (tmp) => {
    await fs.writeFile(path.join(tmp, WEIGHTS), encodeSafetensors(weights, { format: 'distillery' }));
    if (optimizer) {
      await fs.writeFile(path.join(tmp, OPTIMIZER),
        encodeSafetensors(optimizer, { step: String(content.optimizer!.step) }));
    }
    await content.extra?.(tmp);
    await writeFileAtomic(path.join(tmp, STATE), JSON.stringify(state, null, 2));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Finds the checkpoint folder at `dir`, or the previous one a crash mid-replace left beside it. */
async function locate(dir: string): Promise<string | undefined> {
  try {
    await fs.access(path.join(dir, STATE));
    return dir;
  } catch { /* fall through */ }
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[] = [];
  try { names = await fs.readdir(parent); } catch { return undefined; }
  // `<dir>.old-<pid>-<time>`: the newest by time, not by string order (the pid comes first).
  const olds = names
    .map((n) => ({ n, t: Number(new RegExp(`^${escape(base)}\\.old-\\d+-(\\d+)$`).exec(n)?.[1]) }))
    .filter((o) => Number.isFinite(o.t))
    .sort((a, b) => a.t - b.t);
  return olds.length ? path.join(parent, olds[olds.length - 1].n) : undefined;
}

/** Whether a readable checkpoint exists at `dir`. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await locate(dir)) !== undefined;
}

/** Reads a checkpoint written by saveCheckpoint; fails naming the folder and what is wrong. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const found = await locate(dir);
  if (!found) throw new DistilleryError(`checkpoint: no checkpoint at ${dir} (no ${STATE})`, 'checkpoint');
  let state: CheckpointState;
  try {
    state = JSON.parse(await fs.readFile(path.join(found, STATE), 'utf8'));
  } catch (cause) {
    throw new DistilleryError(`checkpoint: ${path.join(found, STATE)} cannot be read`, 'checkpoint', { cause });
  }
  if (state.format !== 'distillery-checkpoint/1') {
    throw new DistilleryError(`checkpoint: ${found} has format ${JSON.stringify(state.format)}, expected distillery-checkpoint/1`, 'checkpoint');
  }
  const weightsFile = path.join(found, WEIGHTS);
  const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(weightsFile)), weightsFile);
  const weights = state.variables.map(({ key }) => {
    if (!tensors[key]) throw new DistilleryError(`checkpoint: ${weightsFile} lacks tensor '${key}'`, 'checkpoint');
    return tensors[key];
  });
  let optimizer: LoadedCheckpoint['optimizer'];
  const optFile = path.join(found, OPTIMIZER);
  try {
    const decoded = decodeSafetensors(new Uint8Array(await fs.readFile(optFile)), optFile);
    optimizer = {
      step: Number(decoded.metadata.step ?? state.step),
      m: state.variables.map(({ key }) => decoded.tensors[`m.${key}`]),
      v: state.variables.map(({ key }) => decoded.tensors[`v.${key}`]),
    };
    if (optimizer.m.some((t) => !t) || optimizer.v.some((t) => !t)) {
      throw new DistilleryError(`checkpoint: ${optFile} lacks moments for some variables`, 'checkpoint');
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { dir: found, state, weights, optimizer };
}

/** Copies checkpoint weights into variables, checking count and every shape. */
export function assignWeights(variables: { key: string; variable: tf.Variable }[], weights: StoredTensor[], source: string): void {
  if (variables.length !== weights.length) {
    throw new DistilleryError(
      `checkpoint ${source}: holds ${weights.length} variables but the stage has ${variables.length}`, 'checkpoint');
  }
  variables.forEach(({ key, variable }, i) => {
    const w = weights[i];
    if (w.shape.length !== variable.shape.length || w.shape.some((d, j) => d !== variable.shape[j])) {
      throw new DistilleryError(
        `checkpoint ${source}: variable '${key}' (${variable.name}) has shape ${shapeText(variable.shape)} ` +
        `but the checkpoint holds ${shapeText(w.shape)}`, 'checkpoint');
    }
  });
  tf.tidy(() => {
    variables.forEach(({ variable }, i) => variable.assign(tf.tensor(weights[i].data, weights[i].shape, variable.dtype)));
  });
}
