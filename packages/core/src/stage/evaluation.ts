import * as tf from '@tensorflow/tfjs-core';
import { evaluate, higherIsBetter } from '../evaluate.js';
import type { Logger } from '../logger.js';
import type { MetricName, ResolvedStage } from '../stage.js';
import type { BatchSource } from '../types.js';
import type { Position, StageCheckpoints, StageProgress } from './checkpoints.js';
import type { StageEvents } from './events.js';
import { stageError } from './losses.js';
import type { StageSetup } from './setup.js';
import { validationLoss } from './validation-loss.js';

/**
 * Evaluation on the stage's validation data, at each epoch's end or every `evaluation.every` steps,
 * and best-keeping: the best evaluation's weights are held in memory (and written to `best/`) and
 * restored when the stage ends.
 */
export class StageEvaluation {
  /** The metric that picks the best evaluation. */
  readonly metric: MetricName;
  /** Evaluate every this many steps, or at each epoch's end. */
  readonly every: number | 'epoch';
  private readonly validation: BatchSource | undefined;
  private readonly batchSize: number;
  /** Why the default metric is the validation loss, said once when the stage starts. */
  private readonly note: string | undefined;
  // Allocated up front so the live tensor count stays the same after every step.
  private readonly bestWeights: tf.Variable[] | undefined;
  private haveBest = false;

  constructor(
    private readonly stage: ResolvedStage,
    private readonly setup: StageSetup,
    private readonly progress: StageProgress,
    private readonly checkpoints: StageCheckpoints,
    private readonly events: StageEvents,
    private readonly logger: Logger,
  ) {
    const { config, student } = stage;
    const options = config.evaluation ?? {};
    this.every = options.every ?? 'epoch';
    this.validation = config.data.validation;
    this.batchSize = options.batchSize ?? setup.batchSize;
    // No loss reads the student's logits: its head is not trained, so accuracy would measure an untouched classifier.
    const trainsHead = setup.studentFeatures.has('logits');
    const regression = (student.info.numLabels ?? 2) === 1;
    this.metric = options.metric ?? (!trainsHead && this.validation ? 'loss' : regression ? 'mse' : 'accuracy');
    if (!options.metric && this.metric === 'loss') {
      this.note = `stage '${config.name}': its losses do not train the head; evaluating on validation loss`;
    }
    const keepBest = (options.keepBest ?? true) && this.validation !== undefined;
    this.bestWeights = keepBest ? setup.variables.map(({ variable }) => tf.variable(variable, false)) : undefined;
  }

  /** Resuming: the best evaluation so far lives on disk (`best/`), not in this process. */
  async loadBest(): Promise<void> {
    if (this.bestWeights) this.haveBest = await this.checkpoints.loadBest(this.bestWeights);
  }

  /** Logs, once, why the stage evaluates on its validation loss. */
  announce(): void {
    if (this.note && this.validation) this.logger.info(this.note);
  }

  /** Whether to evaluate after `step`; `epochEnd` when it ends an epoch (or the stage). */
  due(step: number, epochEnd: boolean): boolean {
    if (!this.validation) return false;
    return this.every === 'epoch' ? epochEnd : step % this.every === 0 || step === this.setup.totalSteps;
  }

  /**
   * Evaluates now (in 0-based `epoch`), records it in the history and, when it is the best so far,
   * keeps its weights and writes `best/` for a resume at `position`.
   */
  async run(epoch: number, position: Position): Promise<void> {
    const { config, student, teacher } = this.stage;
    const { metric, progress } = this;
    const { step } = progress;
    const metrics = metric === 'loss'
      ? { loss: validationLoss(this.setup, { teacher, student }, this.validation!, this.batchSize, step) }
      : evaluate(student, this.validation!, this.batchSize);
    const value = (metrics as Record<string, number>)[metric];
    if (value === undefined) {
      throw stageError(config.name, `evaluation.metric '${metric}' is not computed for this head (got ${Object.keys(metrics).join(', ')})`);
    }
    const { best } = progress;
    const isBest = !best || (higherIsBetter(metric) ? value > best.value : value < best.value);
    progress.history.push({ epoch, step, metrics });
    if (isBest) {
      progress.best = { metric, value, epoch, step };
      if (this.bestWeights) {
        const variables = this.setup.variables;
        this.bestWeights.forEach((b, i) => b.assign(variables[i].variable));
        this.haveBest = true;
        await this.checkpoints.writeBest(position);
      }
    }
    const midEpoch = position.batchInEpoch !== 0;
    await this.events.emit('onEpochEnd', { stage: config.name, epoch, step, metrics, isBest, ...(midEpoch ? { midEpoch } : {}) });
  }

  /** At the stage's end: puts the best evaluation's weights back (keepBest). */
  restoreBest(): void {
    if (!this.bestWeights || !this.haveBest) return;
    const bestWeights = this.bestWeights;
    tf.tidy(() => this.setup.variables.forEach(({ variable }, i) => variable.assign(bestWeights[i])));
    const { metric, value, epoch, step } = this.progress.best!;
    const at = this.every === 'epoch' ? `the best epoch (${metric}=${value.toFixed(4)} at epoch ${epoch + 1})`
      : `the best evaluation (${metric}=${value.toFixed(4)} at step ${step})`;
    this.logger.info(`stage '${this.stage.config.name}': restored ${at}`);
  }

  /** Frees the in-memory copy of the best weights. */
  dispose(): void {
    tf.dispose(this.bestWeights ?? []);
  }
}
