import { inject, injectable } from 'tsyringe';
import type { CheckpointState } from './checkpoint.js';
import type { Logger } from './logger.js';
import { DistilleryError } from './errors.js';
import { releaseAll } from './internals/release.js';
import { PluginRegistry } from './registry.js';
import type { ResolvedStage } from './stage.js';
import { StageCheckpoints, type Position, type StageProgress } from './stage/checkpoints.js';
import { StageEvaluation } from './stage/evaluation.js';
import { StageEvents } from './stage/events.js';
import { disposeLosses, stageError } from './stage/losses.js';
import { checkStepMemory, gib, isOutOfMemory, type StepMemory } from './stage/memory.js';
import { setupStage } from './stage/setup.js';
import { trainStep } from './stage/step.js';
import { trainingTeacher } from './stage/teacher-cache.js';
import { LoggerToken, StageToken } from './tokens.js';

export { plainConfig } from './stage/checkpoints.js';

/** How a stage ended. */
export interface StageResult {
  /** The stage's name. */
  stage: string;
  /** 'interrupted' when the run's signal stopped it before its last step. */
  status: 'completed' | 'interrupted';
  /** Optimizer steps completed. */
  steps: number;
  /** Every evaluation (one per finished epoch, or every `evaluation.every` steps). */
  history: CheckpointState['history'];
  /** The best evaluation, when the stage evaluated. */
  best?: CheckpointState['best'];
  /** The last step's weighted loss. */
  finalLoss?: number;
  /** The `last/` checkpoint folder, when the stage writes checkpoints. */
  checkpoint?: string;
}

/** Options of one run. */
export interface RunOptions {
  /**
   * When aborted, the current step finishes, then (after that step's evaluation, when one is due)
   * `last/` is written and run() resolves 'interrupted'. Given a signal, the loop yields to the event
   * loop after every step so that a SIGINT handler can abort it.
   */
  signal?: AbortSignal;
}

/**
 * Runs one stage: set-up (stage/setup.ts), resume (stage/checkpoints.ts), the teacher the steps read
 * (stage/teacher-cache.ts: the live one, or what `teacherCache` serves), then per batch a training
 * step (stage/step.ts) → callbacks → evaluation and best-keeping when due (stage/evaluation.ts) →
 * `last/` at an epoch's end, every `checkpoint.everySteps`, at step-count evaluations and on interrupt.
 */
@injectable()
export class Distiller {
  constructor(
    @inject(StageToken) private readonly stage: ResolvedStage,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
    @inject(LoggerToken) private readonly logger: Logger,
  ) {}

  /** Trains the stage to its end (or until `signal` aborts). */
  async run({ signal }: RunOptions = {}): Promise<StageResult> {
    const { config, student, teacher } = this.stage;
    const setup = setupStage(this.stage, this.registry, this.logger);
    let evaluation: StageEvaluation | undefined;
    let memory: StepMemory | undefined;
    const progress: StageProgress = { step: 0, history: [] };
    let failed = false;
    try {
      const events = new StageEvents(config, this.registry);
      const checkpoints = new StageCheckpoints(config, setup, progress, events, student, this.logger);
      evaluation = new StageEvaluation(this.stage, setup, progress, checkpoints, events, this.logger);
      const start = await checkpoints.resume();
      await evaluation.loadBest();
      const { stepsPerEpoch, totalSteps } = setup;
      let finalLoss: number | undefined;
      const result = (status: StageResult['status']): StageResult => ({
        stage: config.name, status, steps: progress.step, history: progress.history, best: progress.best, finalLoss,
        checkpoint: checkpoints.lastDir,
      });
      await events.emit('onStageStart', {
        stage: config.name, totalSteps, startStep: progress.step, epochs: setup.epochs, teacher: teacher?.name, student: student.name,
      }, { teacher, student });
      evaluation.announce();
      // Asked only now: a stage resumed complete trains nothing, so it builds no cache.
      const served = progress.step < totalSteps ? await trainingTeacher(this.stage, setup) : { teacher, train: setup.train };
      // A step that cannot fit the backend's memory is refused with its numbers, not met mid-step.
      if (progress.step < totalSteps) memory = checkStepMemory(config.name, setup, student, served.teacher, this.logger);
      const stepContext = { stage: config.name, setup, student, teacher: served.teacher, lastCheckpoint: () => checkpoints.lastWritten };
      const started = Date.now();

      for (let epoch = start.epoch; epoch < setup.epochs && progress.step < totalSteps; epoch++) {
        const batches = setup.epochBatches(epoch);
        if (batches.length !== stepsPerEpoch) {
          throw stageError(config.name, `data.train gives ${batches.length} batches in epoch ${epoch + 1} but ${stepsPerEpoch} in epoch 1`);
        }
        for (let b = epoch === start.epoch ? start.batchInEpoch : 0; b < stepsPerEpoch && progress.step < totalSteps; b++) {
          const values = trainStep(stepContext, served.train.batch(batches[b]), progress.step + 1);
          const step = ++progress.step;
          finalLoss = values.loss;
          await events.emit('onStep', { stage: config.name, step, totalSteps, epoch, ...values, elapsedMs: Date.now() - started });
          // Let a Ctrl-C handler run between steps: the loop otherwise only awaits file writes.
          if (signal) await new Promise((resolve) => setImmediate(resolve));
          const stop = signal?.aborted === true;
          // The end of an epoch, or of maxSteps inside one.
          const epochEnd = b + 1 === stepsPerEpoch || step === totalSteps;
          const position: Position = epochEnd ? { epoch: epoch + 1, batchInEpoch: 0 } : { epoch, batchInEpoch: b + 1 };
          // Evaluation comes before `last/`, so that a resumed run never skips one, even when stopped here.
          const evaluated = evaluation.due(step, epochEnd);
          if (evaluated) await evaluation.run(epoch, position);
          const every = config.checkpoint?.everySteps;
          if (epochEnd || stop || (evaluated && evaluation.every !== 'epoch') || (every && step % every === 0)) {
            await checkpoints.writeLast(position);
          }
          // Stopped on the stage's very last step: nothing is left to resume, so it completes.
          if (stop && step < totalSteps) {
            await events.emit('onStageEnd', { stage: config.name, status: 'interrupted', step });
            return result('interrupted');
          }
        }
      }
      evaluation.restoreBest();
      await events.emit('onStageEnd', { stage: config.name, status: 'completed', step: progress.step });
      return result('completed');
    } catch (error) {
      failed = true;
      if (isOutOfMemory(error)) throw outOfMemory(config.name, progress.step + 1, setup.batchSize, memory, error);
      throw error;
    } finally {
      // The optimizer, the losses and the best weights are freed however the stage ended; a failure
      // to free them never hides the error that ended it.
      releaseAll([() => evaluation?.dispose(), () => setup.optimizer.dispose(), () => disposeLosses(setup.losses)],
        { logger: this.logger, where: `stage '${config.name}'`, failed });
    }
  }
}

/** The error of a backend that ran out of memory mid-stage, with the sizes to lower. */
function outOfMemory(stage: string, step: number, batchSize: number, memory: StepMemory | undefined, cause: unknown): DistilleryError {
  const estimate = memory ? `; estimated before the first step: ${gib(memory.total)} at batchSize ${memory.batchSize} × ${memory.sequenceLength} tokens` : '';
  const text = cause instanceof Error ? cause.message : String(cause);
  return new DistilleryError(`stage '${stage}': the backend ran out of memory at step ${step} (${text}) with batchSize ${batchSize}${estimate}; ` +
    `lower batchSize or the data's maxLength`, 'memory', { cause });
}
