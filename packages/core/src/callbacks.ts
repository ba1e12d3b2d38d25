import * as z from 'zod';
import type { Logger } from './logger.js';
import { defineCallbackPlugin } from './plugins.js';
import type { Student, Teacher } from './types.js';

/** Sent when a stage starts (or resumes). */
export interface StageStartEvent {
  stage: string;
  totalSteps: number;
  /** Steps already done (non-zero when resuming). */
  startStep: number;
  epochs: number;
  /** The teacher's name; absent when the stage has none (it fine-tunes `student` on its own). */
  teacher?: string;
  /** The name of the model the stage trains. */
  student: string;
}

/**
 * The models a stage runs with, as the pipeline resolved them: the second argument of onStageStart.
 * Kept out of StageStartEvent so the event stays plain data (loggers write it as JSON). Who frees
 * them: see Distillery.
 */
export interface StageModels {
  /** The frozen teacher; absent when the stage has none. */
  teacher?: Teacher;
  /** The model the stage trains. */
  student: Student;
}

/** Sent after every optimizer step. */
export interface StepEvent {
  stage: string;
  step: number;
  totalSteps: number;
  epoch: number;
  /** The weighted total that was minimised. */
  loss: number;
  /** Each loss's total and unweighted terms, e.g. { hinton: 0.4, 'hinton.soft': 0.3 }. */
  terms: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  learningRate: number;
  /** Milliseconds since the stage started (this process). */
  elapsedMs: number;
}

/** Sent after each evaluation: at each epoch's end, or every `evaluation.every` steps. */
export interface EpochEvent {
  stage: string;
  /** The 0-based epoch the evaluation ended or fell in. */
  epoch: number;
  step: number;
  metrics: Record<string, number>;
  isBest: boolean;
  /** Set (true) when the evaluation fell inside an epoch (`evaluation.every` is a step count). */
  midEpoch?: boolean;
}

/** Sent when a checkpoint folder has been written. */
export interface CheckpointEvent {
  stage: string;
  step: number;
  dir: string;
  kind: 'last' | 'best';
}

/** Sent when a stage ends. */
export interface StageEndEvent {
  stage: string;
  status: 'completed' | 'interrupted';
  step: number;
}

/** Hooks the training loop calls; every one is optional. */
export interface Callback {
  onStageStart?(event: StageStartEvent, models: StageModels): void | Promise<void>;
  onStep?(event: StepEvent): void | Promise<void>;
  onEpochEnd?(event: EpochEvent): void | Promise<void>;
  onCheckpoint?(event: CheckpointEvent): void | Promise<void>;
  onStageEnd?(event: StageEndEvent): void | Promise<void>;
}

const fmt = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(3));

/** What a stage trains, for a log line: 'student S, teacher T', or 'trains S (no teacher)'. */
export const stageModelsText = (e: Pick<StageStartEvent, 'student' | 'teacher'>): string =>
  (e.teacher ? `student ${e.student}, teacher ${e.teacher}` : `trains ${e.student} (no teacher)`);

/** Plain log lines: stage start, every `every` steps, each evaluation, each checkpoint, the end. */
export function logCallback(logger: Logger, every = 50): Callback {
  return {
    onStageStart: (e) => logger.info(
      `stage '${e.stage}': ${e.totalSteps} steps over ${e.epochs} epoch(s)` +
      `${e.startStep ? `, resuming after step ${e.startStep}` : ''}; ${stageModelsText(e)}`),
    onStep: (e) => {
      if (e.step % every !== 0 && e.step !== e.totalSteps) return;
      const terms = Object.entries(e.terms).map(([k, v]) => `${k}=${fmt(v)}`).join(' ');
      const rate = e.elapsedMs > 0 ? ` ${(1000 * e.step / e.elapsedMs).toFixed(2)} steps/s` : '';
      logger.info(`stage '${e.stage}' step ${e.step}/${e.totalSteps} epoch ${e.epoch + 1} loss=${fmt(e.loss)} ${terms} lr=${e.learningRate.toExponential(2)}${rate}`);
    },
    onEpochEnd: (e) => logger.info(
      `stage '${e.stage}' ${e.midEpoch ? `step ${e.step} (epoch ${e.epoch + 1})` : `epoch ${e.epoch + 1}`}: ${Object.entries(e.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ')}` +
      `${e.isBest ? ' (best so far)' : ''}`),
    onCheckpoint: (e) => logger.info(`stage '${e.stage}': ${e.kind} checkpoint at step ${e.step} written to ${e.dir}`),
    onStageEnd: (e) => logger.info(`stage '${e.stage}' ${e.status} after step ${e.step}`),
  };
}

/** The 'log' callback plugin: `{ use: 'log', options: { every: 50 } }`; it writes to the console. */
export const logCallbackPlugin = defineCallbackPlugin({
  name: 'log',
  options: z.strictObject({
    /** Log every N steps (and the last). @default 50 */
    every: z.int().min(1).default(50).meta({ description: 'Log every N steps (and the last). Default 50.' }),
  }),
  create: ({ every }) => logCallback({ info: (m) => console.log(m), warn: (m) => console.warn(m) }, every),
});
