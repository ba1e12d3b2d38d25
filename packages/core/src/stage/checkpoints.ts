import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { assignWeights, hasCheckpoint, loadCheckpoint, loadNewestIntact, saveCheckpoint, type CheckpointState } from '../checkpoint.js';
import { DistilleryError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { StageConfig } from '../stage.js';
import type { Student } from '../types.js';
import type { StageEvents } from './events.js';
import type { StageSetup } from './setup.js';

/** What a stage has done so far: saved in every checkpoint, restored on resume. */
export interface StageProgress {
  /** Optimizer steps completed. */
  step: number;
  /** Every evaluation so far. */
  history: CheckpointState['history'];
  /** The best evaluation so far. */
  best?: CheckpointState['best'];
}

/** Where in the data the next step starts: a 0-based epoch and the batches of it already done. */
export interface Position {
  /** 0-based epoch. */
  epoch: number;
  /** Batches of that epoch already trained on. */
  batchInEpoch: number;
}

/**
 * The stage's checkpoint folder (`checkpoint.dir`): `last/` (weights, optimizer moments, progress,
 * position: everything an exact resume needs) and `best/` (the best evaluation's weights and the
 * student's own export). Without a dir, nothing is written and nothing resumes.
 */
export class StageCheckpoints {
  /** `<dir>/last`, when the stage has a checkpoint dir. */
  readonly lastDir: string | undefined;
  /** `<dir>/best`, when the stage has a checkpoint dir. */
  readonly bestDir: string | undefined;
  /** The `last/` folder on disk (written or resumed from in this run), if any. */
  lastWritten: string | undefined;
  private resumed = false;

  constructor(
    private readonly config: StageConfig,
    private readonly setup: StageSetup,
    private readonly progress: StageProgress,
    private readonly events: StageEvents,
    private readonly student: Student,
    private readonly logger: Logger = silentLogger,
  ) {
    const dir = config.checkpoint?.dir;
    this.lastDir = dir ? path.join(dir, 'last') : undefined;
    this.bestDir = dir ? path.join(dir, 'best') : undefined;
  }

  /**
   * With `checkpoint.resume`: continues from the newest intact checkpoint — `last/`, else a previous
   * `last.old-*` a crash left, else `best/` (whose optimizer moments are not saved: they start afresh) —
   * loading the weights, the optimizer moments and the progress, and returns where to continue. Every
   * folder passed over is named in a warning with what is wrong with it; when checkpoints exist but none
   * verifies, an error names each. Nothing at all on disk: the start (the caller decides whether a
   * resume may find nothing).
   */
  async resume(): Promise<Position> {
    if (!this.lastDir || !this.config.checkpoint?.resume) return { epoch: 0, batchInEpoch: 0 };
    const stage = this.config.name;
    const found = await loadNewestIntact([this.lastDir, this.bestDir!], (dir) => ({
      stage, maxStep: this.setup.totalSteps, optimizer: dir === this.lastDir,
    }));
    if (!found) return { epoch: 0, batchInEpoch: 0 };
    const { checkpoint: ckpt, skipped } = found;
    const fromBest = !ckpt.optimizer;
    if (skipped.length || fromBest) {
      const passed = skipped.length
        ? `skipped ${skipped.length === 1 ? 'a damaged checkpoint' : `${skipped.length} damaged checkpoints`} ` +
          `(${skipped.map((s) => s.reason).join('; ')}); `
        : `no ${this.lastDir}; `;
      this.logger.warn(`stage '${stage}': ${passed}resuming from ${ckpt.dir} at step ${ckpt.state.step}` +
        (fromBest ? ' (best/ holds no optimizer moments: AdamW starts afresh there)' : ''));
    }
    assignWeights(this.setup.variables, ckpt.weights, ckpt.dir);
    if (ckpt.optimizer) {
      const toTensors = (list: typeof ckpt.weights) => list.map((w) => tf.tensor(w.data, w.shape));
      const m = toTensors(ckpt.optimizer.m);
      const v = toTensors(ckpt.optimizer.v);
      this.setup.optimizer.setState({ step: ckpt.optimizer.step, m, v });
      tf.dispose([...m, ...v]);
    }
    const { step, epoch, batchInEpoch, history, best } = ckpt.state;
    Object.assign(this.progress, { step, history, best });
    this.lastWritten = ckpt.dir;
    this.resumed = true;
    return batchInEpoch >= this.setup.stepsPerEpoch ? { epoch: epoch + 1, batchInEpoch: 0 } : { epoch, batchInEpoch };
  }

  /**
   * Resuming with a best evaluation on record: copies `best/`'s weights into `into` (one per variable).
   * A best evaluation on record whose `best/` is gone or damaged is an error, never a silent switch to
   * the last weights.
   */
  async loadBest(into: tf.Variable[]): Promise<boolean> {
    const best = this.progress.best;
    if (!this.bestDir || !this.resumed || !best) return false;
    const recorded = `${best.metric}=${best.value} at step ${best.step}`;
    if (!(await hasCheckpoint(this.bestDir))) {
      throw new DistilleryError(`stage '${this.config.name}': its checkpoint records a best evaluation (${recorded}) but ` +
        `${this.bestDir} is gone, so the best weights cannot be restored; run the stage afresh (--force)`, 'checkpoint');
    }
    const saved = await loadCheckpoint(this.bestDir, { stage: this.config.name, maxStep: this.setup.totalSteps });
    if (saved.state.step !== best.step) {
      throw new DistilleryError(`stage '${this.config.name}': ${saved.dir} is at step ${saved.state.step} but the best ` +
        `evaluation on record (${recorded}) is at step ${best.step}; run the stage afresh (--force)`, 'checkpoint');
    }
    assignWeights(this.setup.variables.map(({ key }, i) => ({ key, variable: into[i] })), saved.weights, saved.dir);
    return true;
  }

  /** Writes `last/` for a resume at `position`. */
  async writeLast(position: Position): Promise<void> {
    if (!this.lastDir) return;
    await saveCheckpoint(this.lastDir, {
      state: this.state(position), variables: this.setup.variables, optimizer: this.setup.optimizer.getState(),
    });
    this.lastWritten = this.lastDir;
    await this.events.emit('onCheckpoint', { stage: this.config.name, step: this.progress.step, dir: this.lastDir, kind: 'last' });
  }

  /** Writes `best/`: the current weights and the student's export, at `position`. */
  async writeBest(position: Position): Promise<void> {
    if (!this.bestDir) return;
    await saveCheckpoint(this.bestDir, {
      state: this.state(position), variables: this.setup.variables,
      extra: (tmp) => this.student.save(path.join(tmp, 'model')),
    });
    await this.events.emit('onCheckpoint', { stage: this.config.name, step: this.progress.step, dir: this.bestDir, kind: 'best' });
  }

  private state({ epoch, batchInEpoch }: Position): Omit<CheckpointState, 'format' | 'variables' | 'savedAt'> {
    const { step, history, best } = this.progress;
    return { stage: this.config.name, step, epoch, batchInEpoch, seed: this.setup.seed, best, history, config: plainConfig(this.config) };
  }
}

/** The JSON-safe part of a stage config (sources, models and functions are described, not stored). */
export function plainConfig(config: StageConfig): unknown {
  return JSON.parse(JSON.stringify(config, (key, value) => {
    if (typeof value === 'function') return undefined;
    if (value && typeof value === 'object' && typeof value.forward === 'function') return `<model ${value.name}>`;
    if (value && typeof value === 'object' && typeof value.batch === 'function') return `<batch source of ${value.size}>`;
    if (value && typeof value === 'object' && typeof value.compute === 'function') return `<loss ${value.name}>`;
    return value;
  }));
}
