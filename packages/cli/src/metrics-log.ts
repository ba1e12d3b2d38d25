import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type {
  Callback, CheckpointEvent, EpochEvent, StageEndEvent, StageStartEvent, StepEvent,
} from '@distillery/core';
import type { LogitsCacheRecord } from './internals/logits-cache.js';

/** One row of the teacher-vs-student table, measured when a stage ends. */
export interface CompareRow {
  role: 'teacher' | 'student';
  /** The model's name, e.g. 'bert(4x256)'. */
  model: string;
  /** Trainable scalars; absent when the model does not say (e.g. a frozen view of an unknown kind). */
  parameters?: number;
  /** Evaluation on the stage's validation data (accuracy, f1, mcc; mse for regression). */
  metrics?: Record<string, number>;
  /** Inference throughput over a few batches, examples per second. */
  examplesPerSecond?: number;
  /** Why a measurement is missing. */
  note?: string;
}

/** A line of metrics.jsonl; `time` is an ISO timestamp. */
export type MetricsRecord =
  | { event: 'run'; time: string; pipeline?: string; resume: boolean; backend?: string; command?: string }
  | ({ event: 'stage-start'; time: string; index: number; count: number } & StageStartEvent)
  | ({ event: 'step'; time: string } & StepEvent)
  | ({ event: 'epoch'; time: string } & EpochEvent)
  | ({ event: 'checkpoint'; time: string } & CheckpointEvent)
  | ({ event: 'stage-end'; time: string; wallSeconds?: number } & StageEndEvent)
  | ({ event: 'teacher-cache'; time: string } & LogitsCacheRecord)
  | { event: 'compare'; time: string; stage: string; rows: CompareRow[]; data?: string }
  | { event: 'run-end'; time: string; status: 'completed' | 'interrupted' | 'failed'; error?: string };

type Without<T> = T extends unknown ? Omit<T, 'time'> : never;

/**
 * Appends one JSON object per line to a file: every step, epoch, checkpoint and stage event, plus
 * run markers. Each line is written with one write() call, so a crash leaves at most one torn last
 * line (readMetrics skips it). A resumed run appends to the same file. A `stage-end` record holds
 * the stage's wall time in this invocation (`wallSeconds`, from its start to its end).
 */
export class MetricsLog {
  private fd: number | undefined;
  /** Seconds per stage over every stage-end record of the file, earlier invocations included. */
  private readonly wall = new Map<string, number>();

  constructor(readonly file: string, { append = true }: { append?: boolean } = {}) {
    if (append) for (const r of readMetrics(file)) if (r.event === 'stage-end') this.addWall(r.stage, r.wallSeconds);
    this.fd = openSync(file, append ? 'a' : 'w');
  }

  /** A stage's wall time summed over the log's invocations (a resumed stage counts each part); undefined before it ended once. */
  wallSeconds(stage: string): number | undefined {
    return this.wall.get(stage);
  }

  /** Appends a record, stamped with the current time. */
  write(record: Without<MetricsRecord>): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  /** The callback that logs stage `index` (0-based) of `count`. */
  callback(index: number, count: number): Callback {
    let started = performance.now();
    return {
      onStageStart: (e) => {
        started = performance.now();
        this.write({ event: 'stage-start', index, count, ...e });
      },
      onStep: (e) => this.write({ event: 'step', ...e }),
      onEpochEnd: (e) => this.write({ event: 'epoch', ...e }),
      onCheckpoint: (e) => this.write({ event: 'checkpoint', ...e }),
      onStageEnd: (e) => {
        const wallSeconds = Math.round(performance.now() - started) / 1000;
        this.addWall(e.stage, wallSeconds);
        this.write({ event: 'stage-end', ...e, wallSeconds });
      },
    };
  }

  private addWall(stage: string, seconds: number | undefined): void {
    if (typeof seconds === 'number' && Number.isFinite(seconds)) this.wall.set(stage, Math.round(1000 * ((this.wall.get(stage) ?? 0) + seconds)) / 1000);
  }

  /** Closes the file; later writes are dropped. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads metrics.jsonl; a torn or unparsable line (a crash mid-write) is skipped. */
export function readMetrics(file: string): MetricsRecord[] {
  if (!existsSync(file)) return [];
  const records: MetricsRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const parsed = JSON.parse(line);
      if (parsed && typeof parsed.event === 'string') records.push(parsed as MetricsRecord);
    } catch { /* a torn last line */ }
  }
  return records;
}
