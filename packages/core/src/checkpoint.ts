import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './io/safetensors.js';
import { writeDirAtomic, writeFileAtomic } from './io/atomic.js';
import { shapeText } from './internals/checks.js';

/** The checkpoint format this version writes and reads. */
export const CHECKPOINT_FORMAT = 'distillery-checkpoint/2';

/** The training position and bookkeeping saved beside the weights. */
export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
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

/**
 * `manifest.json`, written last into every checkpoint folder: the format, the stage and position, and
 * every other file of the folder with its size and SHA-256. Loading verifies all of it.
 */
export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  stage: string;
  step: number;
  epoch: number;
  /** Path inside the folder ('/'-separated) → size in bytes and hex SHA-256. */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** What a checkpoint holds once read. */
export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: StoredTensor[];
  optimizer: { step: number; m: StoredTensor[]; v: StoredTensor[] } | undefined;
}

/** What a loader expects of a checkpoint (a mismatch is an error naming both). */
export interface CheckpointExpectation {
  /** The stage it must belong to. */
  stage?: string;
  /** The most steps the stage can have completed. */
  maxStep?: number;
  /** It must hold optimizer moments (a `last/` always does). */
  optimizer?: boolean;
}

const WEIGHTS = 'weights.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const STATE = 'state.json';
const MANIFEST = 'manifest.json';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256');
const manifestSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  stage: z.string().min(1),
  step: count,
  epoch: count,
  files: z.record(z.string().min(1), z.strictObject({ bytes: count, sha256 })),
});
const stateSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  stage: z.string().min(1),
  step: count,
  epoch: count,
  batchInEpoch: count,
  seed: z.number().int(),
  variables: z.array(z.strictObject({ key: z.string().min(1), name: z.string(), shape: z.array(count) })),
  best: z.strictObject({ metric: z.string(), value: z.number(), epoch: count, step: count }).optional(),
  history: z.array(z.strictObject({ epoch: count, step: count, metrics: z.record(z.string(), z.number()) })),
  config: z.unknown(),
  savedAt: z.string(),
});

/** `path: problem` for the first issue of a failed zod parse. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const at = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  return `${at}: ${issue.message}`;
}

const damaged = (dir: string, what: string, cause?: unknown) =>
  new DistilleryError(`checkpoint ${dir}: ${what}`, 'checkpoint', cause === undefined ? undefined : { cause });

async function stored(t: tf.Tensor): Promise<StoredTensor> {
  const data = t.dtype === 'int32' ? new Int32Array(await t.data() as Int32Array) : new Float32Array(await t.data() as Float32Array);
  return { shape: [...t.shape], data };
}

/** Every file under `dir`, as '/'-separated paths relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...await listFiles(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

const hashOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Writes a checkpoint folder atomically: weights and optimizer moments as safetensors, the state as
 * JSON, then the manifest (sizes and SHA-256 of every file). The previous checkpoint at `dir` stays
 * intact until the new one is complete.
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
    format: CHECKPOINT_FORMAT,
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
    await fs.writeFile(path.join(tmp, STATE), JSON.stringify(state, null, 2));
    const files: CheckpointManifest['files'] = {};
    for (const rel of await listFiles(tmp)) {
      const bytes = new Uint8Array(await fs.readFile(path.join(tmp, rel)));
      files[rel] = { bytes: bytes.length, sha256: hashOf(bytes) };
    }
    const manifest: CheckpointManifest = { format: CHECKPOINT_FORMAT, stage: state.stage, step: state.step, epoch: state.epoch, files };
    await writeFileAtomic(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The folders that may hold the checkpoint at `dir`, newest first: `dir` itself, then the previous ones
 * a crash mid-replace left beside it (`<dir>.old-<pid>-<time>`, newest by time). Only those that exist.
 */
export async function checkpointCandidates(dir: string): Promise<string[]> {
  const out: string[] = [];
  if (existsSync(dir)) out.push(dir);
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[] = [];
  try { names = await fs.readdir(parent); } catch { return out; }
  // The pid comes first in the name: order by the time, not by the string.
  const olds = names
    .map((n) => ({ n, t: Number(new RegExp(`^${escape(base)}\\.old-\\d+-(\\d+)$`).exec(n)?.[1]) }))
    .filter((o) => Number.isFinite(o.t))
    .sort((a, b) => b.t - a.t);
  return [...out, ...olds.map((o) => path.join(parent, o.n))];
}

/** Whether anything that may be a checkpoint (intact or not) is at `dir` or beside it (`<dir>.old-*`). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await checkpointCandidates(dir)).length > 0;
}

async function readJson(file: string, dir: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    throw damaged(dir, `${path.basename(file)} is missing or unreadable`, cause);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw damaged(dir, `${path.basename(file)} is not valid JSON`, cause);
  }
}

/** decodeSafetensors, its error (which names the file) said of the checkpoint folder. */
function decode(bytes: Uint8Array, file: string, dir: string): ReturnType<typeof decodeSafetensors> {
  try {
    return decodeSafetensors(bytes, file);
  } catch (error) {
    if (error instanceof DistilleryError) throw damaged(dir, error.message, error);
    throw error;
  }
}

/** Reads and checks one checkpoint folder; fails naming the folder and what is wrong. */
async function readCheckpoint(dir: string, expect: CheckpointExpectation): Promise<LoadedCheckpoint> {
  if (!existsSync(path.join(dir, MANIFEST))) {
    const old = existsSync(path.join(dir, STATE));
    throw damaged(dir, old
      ? `has no ${MANIFEST}: written by an older Distillery (format distillery-checkpoint/1) or cut short; ` +
        `it cannot be verified (start the stage afresh with --force)`
      : `has no ${MANIFEST} (not a checkpoint, or one cut short)`);
  }
  const manifestParse = manifestSchema.safeParse(await readJson(path.join(dir, MANIFEST), dir));
  if (!manifestParse.success) throw damaged(dir, `${MANIFEST} is not a checkpoint manifest (${firstIssue(manifestParse.error)})`);
  const manifest = manifestParse.data;
  for (const required of [STATE, WEIGHTS]) {
    if (!manifest.files[required]) throw damaged(dir, `${MANIFEST} lists no ${required}`);
  }
  const contents = new Map<string, Uint8Array>();
  for (const [rel, { bytes, sha256: expected }] of Object.entries(manifest.files)) {
    const file = path.resolve(dir, rel);
    if (path.relative(dir, file).startsWith('..') || path.isAbsolute(rel)) throw damaged(dir, `${MANIFEST} names a file outside the folder: ${rel}`);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await fs.readFile(file));
    } catch (cause) {
      throw damaged(dir, `${file} is missing (the manifest lists it)`, cause);
    }
    if (data.length !== bytes) throw damaged(dir, `${file} has ${data.length} bytes, the manifest says ${bytes}`);
    if (hashOf(data) !== expected) throw damaged(dir, `${file} does not match its SHA-256 in the manifest (the file was changed or damaged)`);
    if (rel === STATE || rel === WEIGHTS || rel === OPTIMIZER) contents.set(rel, data);
  }
  let stateJson: unknown;
  try {
    stateJson = JSON.parse(new TextDecoder().decode(contents.get(STATE)));
  } catch (cause) {
    throw damaged(dir, `${STATE} is not valid JSON`, cause);
  }
  const stateParse = stateSchema.safeParse(stateJson);
  if (!stateParse.success) throw damaged(dir, `${STATE} is not a checkpoint state (${firstIssue(stateParse.error)})`);
  const state = stateParse.data as CheckpointState;
  if (state.stage !== manifest.stage || state.step !== manifest.step || state.epoch !== manifest.epoch) {
    throw damaged(dir, `${STATE} (stage '${state.stage}', step ${state.step}, epoch ${state.epoch}) disagrees with ${MANIFEST} ` +
      `(stage '${manifest.stage}', step ${manifest.step}, epoch ${manifest.epoch})`);
  }
  if (expect.stage !== undefined && state.stage !== expect.stage) {
    throw damaged(dir, `belongs to stage '${state.stage}', not to stage '${expect.stage}'`);
  }
  if (expect.maxStep !== undefined && state.step > expect.maxStep) {
    throw damaged(dir, `is at step ${state.step}, past the stage's last step ${expect.maxStep}`);
  }
  const weightsFile = path.join(dir, WEIGHTS);
  const { tensors } = decode(contents.get(WEIGHTS)!, weightsFile, dir);
  const weights = state.variables.map(({ key, shape }) => {
    const t = tensors[key];
    if (!t) throw damaged(dir, `${WEIGHTS} lacks tensor '${key}'`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw damaged(dir, `${WEIGHTS} tensor '${key}' has shape ${shapeText(t.shape)}, ${STATE} says ${shapeText(shape)}`);
    }
    return t;
  });
  let optimizer: LoadedCheckpoint['optimizer'];
  const optBytes = contents.get(OPTIMIZER);
  if (optBytes) {
    const optFile = path.join(dir, OPTIMIZER);
    const decoded = decode(optBytes, optFile, dir);
    const moment = (kind: 'm' | 'v') => state.variables.map(({ key, shape }) => {
      const t = decoded.tensors[`${kind}.${key}`];
      if (!t) throw damaged(dir, `${OPTIMIZER} lacks moment '${kind}.${key}'`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw damaged(dir, `${OPTIMIZER} moment '${kind}.${key}' has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
      }
      return t;
    });
    const step = Number(decoded.metadata.step ?? state.step);
    if (!Number.isSafeInteger(step) || step < 0) throw damaged(dir, `${OPTIMIZER} has step ${JSON.stringify(decoded.metadata.step)}`);
    optimizer = { step, m: moment('m'), v: moment('v') };
  } else if (expect.optimizer) {
    throw damaged(dir, `holds no optimizer moments (${OPTIMIZER})`);
  }
  return { dir, state, weights, optimizer };
}

/**
 * Reads a checkpoint written by saveCheckpoint, verifying its manifest (every file's size and SHA-256),
 * its state and its tensors: the folder at `dir`, or the newest previous one a crash mid-replace left
 * beside it when `dir` is gone. Fails naming the folder and what is wrong.
 */
export async function loadCheckpoint(dir: string, expect: CheckpointExpectation = {}): Promise<LoadedCheckpoint> {
  const [first] = await checkpointCandidates(dir);
  if (!first) throw new DistilleryError(`checkpoint: no checkpoint at ${dir}`, 'checkpoint');
  return readCheckpoint(first, expect);
}

/** A checkpoint folder passed over, and why. */
export interface SkippedCheckpoint {
  dir: string;
  reason: string;
}

/**
 * The newest intact checkpoint among `dirs` (each with its `<dir>.old-*` siblings, in the order given):
 * the first that verifies, and every folder passed over with the reason. Fails, naming each folder and
 * what is wrong with it, when none verifies; `undefined` when there is nothing at all.
 */
export async function loadNewestIntact(dirs: readonly string[], expect: (dir: string) => CheckpointExpectation = () => ({})):
  Promise<{ checkpoint: LoadedCheckpoint; skipped: SkippedCheckpoint[] } | undefined> {
  const skipped: SkippedCheckpoint[] = [];
  for (const dir of dirs) {
    for (const candidate of await checkpointCandidates(dir)) {
      try {
        return { checkpoint: await readCheckpoint(candidate, expect(dir)), skipped };
      } catch (error) {
        if (!(error instanceof DistilleryError)) throw error;
        skipped.push({ dir: candidate, reason: error.message });
      }
    }
  }
  if (!skipped.length) return undefined;
  throw new DistilleryError(`no intact checkpoint to resume from: ${skipped.map((s) => s.reason).join('; ')}`, 'checkpoint');
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
