import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch } from '../data.js';
import { DistilleryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MemoryEstimate, Student, Teacher } from '../types.js';
import type { StageSetup } from './setup.js';

/** The most a WebAssembly (wasm32) heap can grow to: tensors of the wasm backend live in it. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** How much memory the backend's tensors may take, and what that limit is. */
export interface MemoryLimit {
  bytes: number;
  /** e.g. 'the WebAssembly heap (4.0 GiB)'. */
  what: string;
}

export const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;

/**
 * The memory the current backend's tensors may take: the wasm heap's 4 GiB, or this machine's
 * memory for the CPU and native TensorFlow backends; undefined where no limit is known (WebGL).
 */
export function backendMemoryLimit(backend: string = tf.getBackend()): MemoryLimit | undefined {
  if (backend === 'wasm') return { bytes: WASM_HEAP_BYTES, what: `the WebAssembly heap (${gib(WASM_HEAP_BYTES)})` };
  if (backend === 'cpu' || backend === 'tensorflow') {
    const total = os.totalmem();
    return { bytes: total, what: `this machine's memory (${gib(total)})` };
  }
  return undefined;
}

/** One step's memory, part by part. */
export interface StepMemory {
  batchSize: number;
  sequenceLength: number;
  /** Tensors already allocated: both models' weights, cached teacher outputs, resumed optimizer moments. */
  allocated: number;
  /** AdamW's two moments (2 × the trainable weights; the gradients are in the student's estimate). */
  optimizer: number;
  student?: MemoryEstimate;
  teacher?: MemoryEstimate;
  total: number;
}

/** The tokens of a batch's longest row: the source's maxLength, else its first batch's width. */
function sequenceLength(setup: StageSetup): number {
  if (typeof setup.train.maxLength === 'number' && setup.train.maxLength > 0) return setup.train.maxLength;
  const first = setup.epochBatches(0)[0] ?? [];
  const batch = setup.train.batch(first);
  try {
    return batch.inputIds.shape[1];
  } finally {
    disposeBatch(batch);
  }
}

/** Adds up what one training step of the stage will hold at its peak. */
export function estimateStepMemory(setup: StageSetup, student: Student, teacher: Teacher | undefined): StepMemory {
  const batchSize = Math.min(setup.batchSize, setup.train.size);
  // The rows' length matters only to a model that estimates (a source without maxLength builds a batch for it).
  const estimates = student.estimateMemory !== undefined || teacher?.estimateMemory !== undefined;
  const length = estimates ? sequenceLength(setup) : setup.train.maxLength ?? 0;
  const allocated = tf.memory().numBytes;
  const trainable = setup.variables.reduce((n, v) => n + v.variable.size, 0);
  const optimizer = 2 * 4 * trainable;
  const shape = { batchSize, sequenceLength: length };
  const s = student.estimateMemory?.({ ...shape, features: setup.studentFeatures, training: true });
  const t = teacher && setup.teacherFeatures.size ? teacher.estimateMemory?.({ ...shape, features: setup.teacherFeatures, training: false }) : undefined;
  const total = allocated + optimizer + (s?.bytes ?? 0) + (t?.bytes ?? 0);
  return { batchSize, sequenceLength: length, allocated, optimizer, student: s, teacher: t, total };
}

/**
 * Estimates above the limit by this factor are refused; between the limit and it, a warning. The
 * models' estimates are fitted to tf.profile's peak and err high (up to 2.5× on small shapes), and a
 * step measured at 97 % of the wasm heap runs, so a refusal needs a clear excess.
 */
export const REFUSE_ABOVE = 1.25;

/**
 * Before the first step: refuses a stage whose step cannot fit the backend's memory (the wasm heap
 * fails mid-step with 'memory access out of bounds'), naming the parts, the batch and sequence sizes
 * and the batch size that would fit; warns when the estimate is near or above the limit.
 */
export function checkStepMemory(stage: string, setup: StageSetup, student: Student, teacher: Teacher | undefined,
  logger: Logger, limit: MemoryLimit | undefined = backendMemoryLimit()): StepMemory | undefined {
  if (!limit) return undefined;
  const m = estimateStepMemory(setup, student, teacher);
  if (m.total <= 0.9 * limit.bytes) return m;
  const parts = [
    `weights and data already allocated ${gib(m.allocated)}`,
    `AdamW moments of ${student.name} ${gib(m.optimizer)}`,
    m.student && `${student.name} (training) ${gib(m.student.bytes)}: ${m.student.detail}`,
    m.teacher && teacher && `${teacher.name} (frozen) ${gib(m.teacher.bytes)}: ${m.teacher.detail}`,
  ].filter(Boolean).join('; ');
  const perRow = ((m.student?.bytes ?? 0) + (m.teacher?.bytes ?? 0)) / m.batchSize;
  const fits = perRow > 0 ? Math.floor((0.9 * limit.bytes - m.allocated - m.optimizer) / perRow) : 0;
  const lower = fits >= 1
    ? `lower batchSize (${fits} fits with a margin, at ${m.sequenceLength} tokens) or the data's maxLength`
    : `even one row of ${m.sequenceLength} tokens does not fit: lower the data's maxLength or use smaller models`;
  const needs = `one training step at batchSize ${m.batchSize} × ${m.sequenceLength} tokens needs about ${gib(m.total)} of ${limit.what} (${parts})`;
  if (m.total > REFUSE_ABOVE * limit.bytes) throw new DistilleryError(`stage '${stage}': ${needs}; ${lower}`, 'memory');
  logger.warn(`stage '${stage}': ${needs}; it may not fit: if it fails for memory, ${lower}`);
  return m;
}

/** Whether an error is a backend running out of memory (wasm heap, allocation failures). */
export function isOutOfMemory(error: unknown): boolean {
  if (error instanceof DistilleryError) return false;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return /memory access out of bounds|out of memory|Cannot enlarge memory|Array buffer allocation failed|Invalid typed array length|Aborted\(OOM\)/i.test(text);
}
