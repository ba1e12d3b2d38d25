import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type {
  Callback, CheckpointEvent, EpochEvent, StageEndEvent, StageStartEvent, StepEvent,
} from '@distillery/core';

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
  | ({ event: 'stage-end'; time: string } & StageEndEvent)
  | { event: 'compare'; time: string; stage: string; rows: CompareRow[]; data?: string }
  | { event: 'run-end'; time: string; status: 'completed' | 'interrupted' | 'failed'; error?: string };

type Without<T> = T extends unknown ? Omit<T, 'time'> : never;

/**
 * Appends one JSON object per line to a file: every step, epoch, checkpoint and stage event, plus
 * run markers. Each line is written with one write() call, so a crash leaves at most one torn last
 * line (readMetrics skips it). A resumed run appends to the same file.
 */
export class MetricsLog {
  private fd: number | undefined;

  constructor(readonly file: string, { append = true }: { append?: boolean } = {}) {
    this.fd = openSync(file, append ? 'a' : 'w');
  }

  /** Appends a record, stamped with the current time. */
  write(record: Without<MetricsRecord>): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  /** The callback that logs stage `index` (0-based) of `count`. */
  callback(index: number, count: number): Callback {
    return {
      onStageStart: (e) => this.write({ event: 'stage-start', index, count, ...e }),
      onStep: (e) => this.write({ event: 'step', ...e }),
      onEpochEnd: (e) => this.write({ event: 'epoch', ...e }),
      onCheckpoint: (e) => this.write({ event: 'checkpoint', ...e }),
      onStageEnd: (e) => this.write({ event: 'stage-end', ...e }),
    };
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
