// Sizes of a results run. The experiment files hold the full mode; the other profiles shrink every
// file the same way (widths, sequence length, data, epochs), so each mode runs the same experiments.
import path from 'node:path';

/** How a profile changes the experiment files. */
export interface Profile {
  /** 'full' (the files as written), 'quick' (about 15 minutes on 2 cores), 'micro' (tests). */
  name: 'full' | 'quick' | 'micro';
  /** Every model width (hidden_size, intermediate_size; BiLSTM sizes) is divided by this. @default 1 */
  widthDivisor: number;
  /** Replaces every dataset's maxLength and every BERT config's max_position_embeddings. */
  maxLength?: number;
  /** E-mails kept of each training set (datasets named train* or unlabelled*), drawn with the file's seed. */
  trainLimit?: number;
  /** E-mails kept of each validation and test set. */
  evalLimit?: number;
  /** Epochs become max(1, ceil(epochs · epochScale)). */
  epochScale?: number;
  /** Every learning rate is multiplied by this (narrower models, fewer steps). @default 1 */
  learningRateScale?: number;
  /** Every stage stops after this many steps. */
  maxSteps?: number;
  /** Replaces every stage's batch size. */
  batchSize?: number;
  /** The temperatures of the sweep. */
  temperatures: readonly number[];
  /** Batches timed for inference speed (after one warm-up batch). @default the whole test split */
  throughputBatches?: number;
  /** Grid of the held-out class's bias raise: 0 to max in steps of step. */
  biasGrid: { max: number; step: number };
}

/** The experiment files as written: the model sizes, data and epochs of the study. */
export const FULL: Profile = {
  name: 'full', widthDivisor: 1, temperatures: [1, 2, 4, 8, 20], biasGrid: { max: 20, step: 0.25 },
};

/** The same experiments at a quarter of the width, 64 tokens, 1,200 training e-mails, 3× the learning rates. */
export const QUICK: Profile = {
  name: 'quick', widthDivisor: 4, maxLength: 64, trainLimit: 1200, learningRateScale: 3, temperatures: [1, 4, 20],
  biasGrid: { max: 20, step: 0.25 },
};

/** Tiny models (width ≤ 32), 48 e-mails of 32 tokens, 2 steps a stage: the machinery end to end, for tests. */
export const MICRO: Profile = {
  name: 'micro', widthDivisor: 8, maxLength: 32, trainLimit: 48, evalLimit: 24, maxSteps: 2, batchSize: 8,
  temperatures: [1, 4], throughputBatches: 2, biasGrid: { max: 4, step: 1 },
};

const isObject = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const scale = (n: unknown, d: number) => (typeof n === 'number' ? Math.max(1, Math.round(n / d)) : n);

function shrinkModel(def: Record<string, any>, p: Profile): Record<string, any> {
  const out = structuredClone(def);
  if (out.type === 'bert' && isObject(out.config)) {
    if (p.widthDivisor !== 1) {
      for (const key of ['hidden_size', 'intermediate_size']) if (key in out.config) out.config[key] = scale(out.config[key], p.widthDivisor);
    }
    if (p.maxLength !== undefined && out.config.max_position_embeddings !== undefined) out.config.max_position_embeddings = p.maxLength;
  }
  if (out.type === 'bilstm' && p.widthDivisor !== 1) {
    for (const key of ['embeddingSize', 'units', 'denseSize']) if (key in out) out[key] = scale(out[key], p.widthDivisor);
  }
  return out;
}

function shrinkData(name: string, def: Record<string, any>, p: Profile): Record<string, any> {
  const out = { ...def };
  if (p.maxLength !== undefined) out.maxLength = p.maxLength;
  const limit = /^(train|unlabelled)/.test(name) ? p.trainLimit : p.evalLimit;
  if (limit !== undefined) out.limit = Math.min(limit, out.limit ?? Infinity);
  return out;
}

/** Stage fields (a stage, a teacher-assistant entry, or its assistantStage/studentStage). */
function shrinkFields(fields: Record<string, any>, p: Profile, top: boolean): Record<string, any> {
  const out = { ...fields };
  if (p.epochScale !== undefined && typeof out.epochs === 'number') out.epochs = Math.max(1, Math.ceil(out.epochs * p.epochScale));
  if (p.maxSteps !== undefined && (top || out.epochs !== undefined)) out.maxSteps = p.maxSteps;
  if (p.batchSize !== undefined && (top || out.batchSize !== undefined)) out.batchSize = p.batchSize;
  if (p.batchSize !== undefined && isObject(out.evaluation)) out.evaluation = { ...out.evaluation, batchSize: p.batchSize };
  if (p.learningRateScale !== undefined && typeof out.optimizer?.learningRate === 'number') {
    out.optimizer = { ...out.optimizer, learningRate: out.optimizer.learningRate * p.learningRateScale };
  }
  for (const role of ['teacher', 'student']) if (isObject(out[role]) && 'type' in out[role]) out[role] = shrinkModel(out[role], p);
  return out;
}

/** A raw pipeline config (parsed YAML) resized by the profile. */
export function applyProfile(raw: Record<string, any>, p: Profile): Record<string, any> {
  const out = { ...raw };
  out.models = Object.fromEntries(Object.entries(raw.models ?? {}).map(([k, v]) => [k, shrinkModel(v as Record<string, any>, p)]));
  out.data = Object.fromEntries(Object.entries(raw.data ?? {}).map(([k, v]) => [k, shrinkData(k, v as Record<string, any>, p)]));
  out.stages = (raw.stages ?? []).map((stage: Record<string, any>) => {
    if (!('use' in stage)) return shrinkFields(stage, p, true);
    const options = shrinkFields(stage.options ?? {}, p, true);
    for (const key of ['assistantStage', 'studentStage']) if (isObject(options[key])) options[key] = shrinkFields(options[key], p, false);
    return { ...stage, options };
  });
  return out;
}

/** The run folder the experiment files name, relative to experiments/: they read each other's outputs there. */
export const FILES_RUN_DIR = '../runs/results/';

/** Every path under the files' run folder (FILES_RUN_DIR) moved to `runDir`, so a quick or test run has its own. */
export function retarget<T>(raw: T, runDir: string): T {
  if (typeof raw === 'string') return (raw.startsWith(FILES_RUN_DIR) ? path.join(runDir, raw.slice(FILES_RUN_DIR.length)) : raw) as T;
  if (Array.isArray(raw)) return raw.map((x) => retarget(x, runDir)) as T;
  if (isObject(raw)) return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, retarget(v, runDir)])) as T;
  return raw;
}
