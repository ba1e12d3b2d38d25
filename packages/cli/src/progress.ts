import { stageModelsText, type Callback, type Logger, type StageStartEvent, type StepEvent } from '@distillery/core';

/** Where progress goes: process.stdout or anything with write() (tests pass a collector). */
export interface OutputStream {
  write(chunk: string): unknown;
  /** A terminal: progress is one bar redrawn in place. */
  isTTY?: boolean;
  /** Terminal width. */
  columns?: number;
}

/** Options of Progress. */
export interface ProgressOptions {
  /** Where the bar and the log lines go. */
  stream: OutputStream;
  /** Warnings; the bar is cleared first when both are the terminal. @default stream */
  errorStream?: OutputStream;
  /** A bar redrawn in place rather than plain lines. @default stream.isTTY */
  tty?: boolean;
  /** Plain mode: one step line every this many steps (and at the last step). @default 50 */
  every?: number;
  /** Least time between two redraws of the bar, in ms. @default 100 */
  redrawMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface StageState {
  start: StageStartEvent;
  index: number;
  count: number;
  last?: StepEvent;
}

const BAR_WIDTH = 20;

/** A loss value: 4 decimals, or 3 significant digits in exponent form when tiny or huge. */
export const formatNumber = (x: number): string =>
  !Number.isFinite(x) ? String(x) : x === 0 || (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5) ? x.toFixed(4) : x.toExponential(3);

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Steps per second over the steps this process ran, and the time the rest would take. */
function pace(state: StageState, e: StepEvent): { rate: number; eta: number } {
  const done = e.step - state.start.startStep;
  const rate = e.elapsedMs > 0 ? (1000 * done) / e.elapsedMs : 0;
  return { rate, eta: rate > 0 ? (e.totalSteps - e.step) / rate : Number.NaN };
}

/**
 * Training progress for the `run` command, fed by core callbacks. On a terminal: one bar per stage
 * redrawn in place (step/total, epoch, loss and each term, learning rate, steps/s, ETA), with log
 * lines printed above it. Elsewhere (a file, CI): plain lines, a step line every `every` steps.
 */
export class Progress {
  /** Whether the bar is drawn in place. */
  readonly tty: boolean;
  /** A core Logger that prints through this progress (so lines never tear the bar). */
  readonly logger: Logger;
  private readonly stream: OutputStream;
  private readonly errorStream: OutputStream;
  private readonly every: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private barShown = false;
  private lastDraw = 0;
  private current?: StageState;

  constructor({ stream, errorStream = stream, tty = stream.isTTY === true, every = 50, redrawMs = 100, now = Date.now }: ProgressOptions) {
    this.stream = stream;
    this.errorStream = errorStream;
    this.tty = tty;
    this.every = Math.max(1, Math.floor(every));
    this.redrawMs = redrawMs;
    this.now = now;
    this.logger = { info: (m) => this.line(m), warn: (m) => this.line(`warning: ${m}`, true) };
  }

  /** Prints a line (above the bar on a terminal). */
  line(message: string, error = false): void {
    this.clearBar();
    (error ? this.errorStream : this.stream).write(`${message}\n`);
    this.drawBar(true);
  }

  /** Ends the bar's line, leaving it on screen. */
  done(): void {
    if (this.tty && this.barShown) this.stream.write('\n');
    this.barShown = false;
    this.current = undefined;
  }

  /** The callback that feeds this progress for stage `index` (0-based) of `count`. */
  callback(index: number, count: number): Callback {
    return {
      onStageStart: (e) => {
        this.done();
        this.current = { start: e, index, count };
        const resumed = e.startStep >= e.totalSteps ? ', already complete: restored from its checkpoint'
          : e.startStep > 0 ? `, resuming after step ${e.startStep}` : '';
        this.line(`stage '${e.stage}' (${index + 1}/${count}): ${e.totalSteps} steps over ${e.epochs} epoch(s)${resumed}; ${stageModelsText(e)}`);
      },
      onStep: (e) => {
        if (!this.current) return;
        this.current.last = e;
        if (this.tty) {
          if (e.step === e.totalSteps || this.now() - this.lastDraw >= this.redrawMs) this.drawBar(true);
        } else if (e.step % this.every === 0 || e.step === e.totalSteps) {
          this.stream.write(`${this.stepText(this.current, e, false)}\n`);
        }
      },
      onEpochEnd: (e) => this.line(`stage '${e.stage}' epoch ${e.epoch + 1}: ` +
        `${Object.entries(e.metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(' ')}${e.isBest ? ' (best so far)' : ''}`),
      onCheckpoint: (e) => {
        // `last/` is written every epoch: on a terminal the bar says enough.
        if (e.kind === 'best' || !this.tty) this.line(`stage '${e.stage}': ${e.kind} checkpoint at step ${e.step} written to ${e.dir}`);
      },
      onStageEnd: (e) => {
        this.drawBar(true);
        this.done();
        this.line(`stage '${e.stage}' ${e.status} after step ${e.step}`);
      },
    };
  }

  private stepText(state: StageState, e: StepEvent, bar: boolean): string {
    const { rate, eta } = pace(state, e);
    const head = (width: number) => (bar
      ? `[${state.index + 1}/${state.count}] ${e.stage} ${progressBar(e.step / e.totalSteps, width)} ${e.step}/${e.totalSteps}`
      : `stage '${e.stage}' step ${e.step}/${e.totalSteps} (${Math.floor((100 * e.step) / e.totalSteps)}%)`);
    const epoch = `epoch ${e.epoch + 1}/${state.start.epochs}`;
    const loss = `loss ${formatNumber(e.loss)}`;
    const lr = `lr ${e.learningRate.toExponential(2)}`;
    const speed = `${rate.toFixed(2)} steps/s ETA ${formatDuration(eta)}`;
    const terms = Object.entries(e.terms).map(([k, v]) => `${k} ${formatNumber(v)}`);
    const line = (width: number, shown: string[] | undefined, withLr = true) =>
      [head(width), epoch, loss, ...(shown ? [`[${shown.join(', ')}]`] : []), ...(withLr ? [lr] : []), speed].join(' ');
    if (!bar) return line(BAR_WIDTH, terms.length ? terms : undefined);
    // Too wide for the terminal: drop loss terms from the end, then the bar's length, then the learning rate.
    const columns = Math.max(20, (this.stream.columns ?? 100) - 1);
    const candidates = [
      ...terms.map((_, n) => line(BAR_WIDTH, n === 0 ? terms : [...terms.slice(0, terms.length - n), '…'])),
      line(BAR_WIDTH, undefined), line(10, undefined), line(10, undefined, false),
    ];
    return candidates.find((c) => c.length <= columns) ?? candidates[candidates.length - 1].slice(0, columns);
  }

  private clearBar(): void {
    if (this.tty && this.barShown) this.stream.write('\r\x1b[2K');
  }

  private drawBar(force: boolean): void {
    const state = this.current;
    if (!this.tty || !state?.last || (!force && this.now() - this.lastDraw < this.redrawMs)) return;
    this.stream.write(`\r\x1b[2K${this.stepText(state, state.last, true)}`);
    this.barShown = true;
    this.lastDraw = this.now();
  }
}

/** A text bar of `width` cells for a fraction in [0, 1]. */
export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}
