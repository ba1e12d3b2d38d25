import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { inject, injectable } from 'tsyringe';
import type { Callback } from './callbacks.js';
import { assignWeights, hasCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import { disposeBatch } from './data.js';
import { DistilleryError, NonFiniteLossError } from './errors.js';
import { evaluate, higherIsBetter } from './evaluate.js';
import { Rng } from './internals/rng.js';
import type { Logger } from './logger.js';
import { AdamW } from './optim/adamw.js';
import { clipByGlobalNorm } from './optim/clip.js';
import { makeSchedule } from './optim/schedule.js';
import type { PluginEnv } from './plugins.js';
import { checkOptionKeys, PluginRegistry } from './registry.js';
import type { MetricName, ResolvedStage, StageConfig } from './stage.js';
import { LoggerToken, StageToken } from './tokens.js';
import type { DistillationLoss, Feature, LayerMapping, ModelOutputs, Teacher } from './types.js';

/** How a stage ended. */
export interface StageResult {
  stage: string;
  status: 'completed' | 'interrupted';
  /** Optimizer steps completed. */
  steps: number;
  /** Evaluation per finished epoch. */
  history: CheckpointState['history'];
  best?: CheckpointState['best'];
  /** The last step's weighted loss. */
  finalLoss?: number;
  /** The `last/` checkpoint folder, when the stage writes checkpoints. */
  checkpoint?: string;
}

/** Options of one run. */
export interface RunOptions {
  /** When aborted, the current step finishes, a checkpoint is written and run() resolves 'interrupted'. */
  signal?: AbortSignal;
}

interface BoundLoss {
  label: string;
  weight: number;
  loss: DistillationLoss;
  /** Created here from a plugin (so disposed here), rather than handed in ready-made. */
  owned: boolean;
}

const isLoss = (x: unknown): x is DistillationLoss =>
  typeof x === 'object' && x !== null && typeof (x as DistillationLoss).compute === 'function';

const union = (sets: ReadonlySet<Feature>[]) => new Set(sets.flatMap((s) => [...s]));

/** Runs one stage: teacher forward (no gradient) → student forward + weighted losses → AdamW → callbacks. */
@injectable()
export class Distiller {
  private readonly config: StageConfig;

  constructor(
    @inject(StageToken) private readonly stage: ResolvedStage,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
    @inject(LoggerToken) private readonly logger: Logger,
  ) {
    this.config = stage.config;
  }

  private fail(message: string, code: ConstructorParameters<typeof DistilleryError>[1] = 'config'): DistilleryError {
    return new DistilleryError(`stage '${this.config.name}': ${message}`, code);
  }

  private resolveMapping(ref: StageConfig['mapping'], where: string): LayerMapping | undefined {
    if (ref === undefined) return undefined;
    if (typeof ref === 'string') return this.registry.get('mapping', ref).create({});
    if ('pairs' in ref && typeof ref.pairs === 'function') return ref as LayerMapping;
    const { use, options = {} } = ref as { use: string; options?: Record<string, unknown> };
    const plugin = this.registry.get('mapping', use);
    checkOptionKeys(plugin, options, where);
    return plugin.create(options);
  }

  private buildLosses(env: PluginEnv): BoundLoss[] {
    const { losses } = this.config;
    if (!Array.isArray(losses) || losses.length === 0) throw this.fail(`'losses' must list at least one loss`);
    const seen = new Map<string, number>();
    return losses.map((spec, i) => {
      const where = `stage '${this.config.name}' losses[${i}]`;
      const weight = spec.weight ?? 1;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        throw this.fail(`losses[${i}].weight must be a finite number >= 0, got ${JSON.stringify(spec.weight)}`);
      }
      let loss: DistillationLoss;
      const owned = !isLoss(spec.use);
      if (isLoss(spec.use)) {
        loss = spec.use;
      } else {
        const plugin = typeof spec.use === 'string' ? this.registry.get('loss', spec.use) : spec.use;
        checkOptionKeys(plugin, spec.options, where);
        loss = plugin.create(spec.options ?? {}, env);
      }
      const count = (seen.get(loss.name) ?? 0) + 1;
      seen.set(loss.name, count);
      return { label: count === 1 ? loss.name : `${loss.name}#${count}`, weight, loss, owned };
    });
  }

  private checkFeatures(losses: BoundLoss[], teacher: Teacher | undefined): void {
    const { student } = this.stage;
    for (const { label, loss } of losses) {
      for (const f of loss.teacherFeatures) {
        if (!teacher) throw this.fail(`loss '${label}' needs the teacher's '${f}' but the stage has no teacher`, 'feature');
        if (!teacher.emits.has(f)) {
          throw this.fail(`loss '${label}' needs feature '${f}' from the teacher, but teacher ${teacher.name} ` +
            `does not emit it (it emits: ${[...teacher.emits].join(', ')})`, 'feature');
        }
      }
      for (const f of loss.studentFeatures) {
        if (!student.emits.has(f)) {
          throw this.fail(`loss '${label}' needs feature '${f}' from the student, but student ${student.name} ` +
            `does not emit it (it emits: ${[...student.emits].join(', ')})`, 'feature');
        }
      }
    }
  }

  private buildCallbacks(): Callback[] {
    return (this.config.callbacks ?? []).map((cb, i) => {
      if ('use' in cb && typeof cb.use === 'string') {
        const plugin = this.registry.get('callback', cb.use);
        checkOptionKeys(plugin, cb.options, `stage '${this.config.name}' callbacks[${i}]`);
        return plugin.create(cb.options ?? {});
      }
      return cb as Callback;
    });
  }

  /** Trains the stage to its end (or until `signal` aborts). */
  async run({ signal }: RunOptions = {}): Promise<StageResult> {
    const { config } = this;
    const { student, teacher } = this.stage;
    const seed = config.seed ?? 42;
    const batchSize = config.batchSize ?? 32;
    const train = config.data?.train;
    if (!train || !(train.size > 0)) throw this.fail(`data.train must be a batch source with at least one example`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw this.fail(`batchSize must be a positive integer, got ${batchSize}`);
    const epochBatches = (epoch: number): number[][] => {
      if (train.epochBatches) return train.epochBatches(epoch, seed, batchSize);
      const order = Rng.derive(seed, 'epoch', epoch).shuffle(Array.from({ length: train.size }, (_, i) => i));
      return Array.from({ length: Math.ceil(order.length / batchSize) }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
    };
    const stepsPerEpoch = epochBatches(0).length;
    if (stepsPerEpoch < 1) throw this.fail(`data.train gives no batches for epoch 1`);
    const epochsWanted = config.epochs ?? 1;
    if (!Number.isInteger(epochsWanted) || epochsWanted < 1) throw this.fail(`epochs must be a positive integer, got ${config.epochs}`);
    if (config.maxSteps !== undefined && (!Number.isInteger(config.maxSteps) || config.maxSteps < 1)) {
      throw this.fail(`maxSteps must be a positive integer, got ${config.maxSteps}`);
    }
    const totalSteps = config.maxSteps ?? epochsWanted * stepsPerEpoch;
    const epochs = Math.ceil(totalSteps / stepsPerEpoch);

    const env: PluginEnv = {
      teacherInfo: teacher?.info ?? student.info,
      studentInfo: student.info,
      mapping: this.resolveMapping(config.mapping, `stage '${config.name}' mapping`),
      resolveMapping: (name, options = {}) => this.resolveMapping({ use: name, options }, `stage '${config.name}'`)!,
      seed,
      logger: this.logger,
    };
    const losses = this.buildLosses(env);
    this.checkFeatures(losses, teacher);
    const teacherFeatures = union(losses.map((l) => l.loss.teacherFeatures));
    const studentFeatures = union(losses.map((l) => l.loss.studentFeatures));
    const callbacks = this.buildCallbacks();
    const emit = async <K extends keyof Callback>(hook: K, event: Parameters<NonNullable<Callback[K]>>[0]) => {
      for (const cb of callbacks) await (cb[hook] as ((e: unknown) => unknown) | undefined)?.(event);
    };

    const variables = [
      ...student.trainableVariables.map((variable, i) => ({ key: `student.${i}`, variable })),
      ...losses.flatMap(({ label, loss }) => loss.variables.map((variable, i) => ({ key: `loss.${label}.${i}`, variable }))),
    ];
    const opt = config.optimizer ?? {};
    const optimizer = new AdamW(variables.map((v) => v.variable), {
      beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon, weightDecay: opt.weightDecay,
    });
    const clipNorm = opt.clipNorm ?? 1;
    if (typeof clipNorm !== 'number' || !(clipNorm >= 0)) throw this.fail(`optimizer.clipNorm must be >= 0, got ${clipNorm}`);
    const schedule = makeSchedule({
      type: opt.schedule, learningRate: opt.learningRate, warmupSteps: opt.warmupSteps, warmupRatio: opt.warmupRatio,
    }, totalSteps);

    const validation = config.data.validation;
    const regression = (student.info.numLabels ?? 2) === 1;
    const metric: MetricName = config.evaluation?.metric ?? (regression ? 'mse' : 'accuracy');
    const keepBest = (config.evaluation?.keepBest ?? true) && validation !== undefined;
    const ckptDir = config.checkpoint?.dir;
    const lastDir = ckptDir ? path.join(ckptDir, 'last') : undefined;
    const bestDir = ckptDir ? path.join(ckptDir, 'best') : undefined;

    let step = 0;
    let startEpoch = 0;
    let startBatch = 0;
    let history: CheckpointState['history'] = [];
    let best: CheckpointState['best'];
    let lastWritten: string | undefined;
    if (lastDir && config.checkpoint?.resume && (await hasCheckpoint(lastDir))) {
      const ckpt = await loadCheckpoint(lastDir);
      assignWeights(variables, ckpt.weights, ckpt.dir);
      if (ckpt.optimizer) {
        const toTensors = (list: typeof ckpt.weights) => list.map((w) => tf.tensor(w.data, w.shape));
        const m = toTensors(ckpt.optimizer.m);
        const v = toTensors(ckpt.optimizer.v);
        optimizer.setState({ step: ckpt.optimizer.step, m, v });
        tf.dispose([...m, ...v]);
      }
      ({ step, epoch: startEpoch, batchInEpoch: startBatch, history, best } = ckpt.state);
      if (startBatch >= stepsPerEpoch) { startEpoch += 1; startBatch = 0; }
      lastWritten = ckpt.dir;
    }

    const writeLast = async (epoch: number, batchInEpoch: number) => {
      if (!lastDir) return;
      await saveCheckpoint(lastDir, {
        state: { stage: config.name, step, epoch, batchInEpoch, seed, best, history, config: plainConfig(config) },
        variables, optimizer: optimizer.getState(),
      });
      lastWritten = lastDir;
      await emit('onCheckpoint', { stage: config.name, step, dir: lastDir, kind: 'last' });
    };

    // Allocated up front so the live tensor count stays the same after every step.
    const bestWeights = keepBest ? variables.map(({ variable }) => tf.variable(variable, false)) : undefined;
    let haveBest = false;
    if (bestWeights && bestDir && lastWritten && best && (await hasCheckpoint(bestDir))) {
      // Resuming: the best epoch so far lives on disk, not in this process.
      const saved = await loadCheckpoint(bestDir);
      assignWeights(variables.map(({ key }, i) => ({ key, variable: bestWeights[i] })), saved.weights, saved.dir);
      haveBest = true;
    }
    const started = Date.now();
    let finalLoss: number | undefined;
    await emit('onStageStart', {
      stage: config.name, totalSteps, startStep: step, epochs, teacher: teacher?.name, student: student.name,
    });

    const trainableVars = variables.map((v) => v.variable);
    let interrupted = false;
    const stopInterrupted = async (): Promise<StageResult> => {
      await emit('onStageEnd', { stage: config.name, status: 'interrupted', step });
      return { stage: config.name, status: 'interrupted', steps: step, history, best, finalLoss, checkpoint: lastDir };
    };
    try {
      for (let epoch = startEpoch; epoch < epochs && step < totalSteps; epoch++) {
        const batches = epoch === 0 ? epochBatches(0) : epochBatches(epoch);
        if (batches.length !== stepsPerEpoch) {
          throw this.fail(`data.train gives ${batches.length} batches in epoch ${epoch + 1} but ${stepsPerEpoch} in epoch 1`);
        }
        for (let b = epoch === startEpoch ? startBatch : 0; b < stepsPerEpoch && step < totalSteps; b++) {
          const batch = train.batch(batches[b]);
          let teacherOut: ModelOutputs = {};
          let learningRate = 0;
          let values: Float32Array;
          let names: string[] = [];
          try {
            if (teacher && teacherFeatures.size) {
              teacherOut = tf.tidy(() => teacher.forward(batch, teacherFeatures) as tf.TensorContainer) as ModelOutputs;
            }
            const ctxStep = step + 1;
            const dropoutSeed = Rng.derive(seed, 'dropout', ctxStep).nextUint32();
            let reported: tf.Tensor | undefined;
            const { value, grads } = tf.variableGrads(() => {
              const studentOut = student.forward(batch, studentFeatures, { training: true, seed: dropoutSeed });
              const ctx = {
                teacher: teacherOut, student: studentOut, batch,
                teacherInfo: env.teacherInfo, studentInfo: env.studentInfo, step: ctxStep,
              };
              const scalars: tf.Scalar[] = [];
              names = [];
              let total: tf.Scalar | undefined;
              for (const { label, weight, loss } of losses) {
                const result = loss.compute(ctx);
                names.push(label);
                scalars.push(result.total);
                for (const [term, t] of Object.entries(result.terms)) { names.push(`${label}.${term}`); scalars.push(t); }
                const weighted = tf.mul(result.total, weight) as tf.Scalar;
                total = total ? tf.add(total, weighted) as tf.Scalar : weighted;
              }
              reported = tf.keep(tf.stack([total!, ...scalars.map((s) => tf.reshape(s, []))]));
              return total!;
            }, trainableVars);
            // One read per step: every term and the gradient norm together.
            const all = tf.tidy(() => tf.concat([reported!,
              tf.reshape(tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))), [1])]));
            values = all.dataSync() as Float32Array;
            tf.dispose([all, reported!, value]);
            if (!values.every((v) => Number.isFinite(v))) {
              tf.dispose(grads);
              // Name the first loss term that went bad; the total or the gradient norm only if no term did.
              const termIndex = names.findIndex((_, i) => !Number.isFinite(values[i + 1]));
              const [term, bad] = termIndex >= 0 ? [names[termIndex], values[termIndex + 1]]
                : !Number.isFinite(values[0]) ? ['loss', values[0]] : ['gradient norm', values[values.length - 1]];
              throw new NonFiniteLossError(
                `stage '${config.name}': step ${ctxStep}: '${term}' is ${bad}; training stopped with the weights ` +
                `of step ${step}` + (lastWritten ? `; the last good checkpoint ${lastWritten} is kept` : ''),
                ctxStep, term, lastWritten);
            }
            learningRate = schedule(ctxStep);
            const clipped = clipNorm > 0 ? clipByGlobalNorm(grads, clipNorm) : grads;
            optimizer.applyGradients(clipped, learningRate);
            if (clipped !== grads) tf.dispose(clipped);
            tf.dispose(grads);
            step = ctxStep;
          } finally {
            tf.dispose(teacherOut as tf.TensorContainer);
            disposeBatch(batch);
          }
          finalLoss = values[0];
          const terms: Record<string, number> = {};
          names.forEach((n, i) => { terms[n] = values[i + 1]; });
          await emit('onStep', {
            stage: config.name, step, totalSteps, epoch, loss: values[0], terms,
            gradNorm: values[values.length - 1], learningRate, elapsedMs: Date.now() - started,
          });
          if (signal) {
            // Let a Ctrl-C handler run between steps: the loop otherwise only awaits file writes.
            await new Promise((resolve) => setImmediate(resolve));
          }
          if (signal?.aborted) {
            // On an epoch's last step, finish the epoch (evaluation, best, last/) first, so a resumed
            // run does not skip that evaluation.
            if (b + 1 === stepsPerEpoch || step === totalSteps) { interrupted = true; break; }
            await writeLast(epoch, b + 1);
            return await stopInterrupted();
          }
          const every = config.checkpoint?.everySteps;
          if (every && step % every === 0 && b + 1 < stepsPerEpoch) await writeLast(epoch, b + 1);
        }
        // End of an epoch (or of maxSteps inside one).
        if (validation) {
          const metrics = evaluate(student, validation, config.evaluation?.batchSize ?? batchSize);
          const value = metrics[metric];
          if (value === undefined) throw this.fail(`evaluation.metric '${metric}' is not computed for this head (got ${Object.keys(metrics).join(', ')})`);
          const isBest = !best || (higherIsBetter(metric) ? value > best.value : value < best.value);
          history.push({ epoch, step, metrics });
          if (isBest) {
            best = { metric, value, epoch, step };
            if (bestWeights) {
              bestWeights.forEach((b, i) => b.assign(trainableVars[i]));
              haveBest = true;
              if (bestDir) {
                await saveCheckpoint(bestDir, {
                  state: { stage: config.name, step, epoch: epoch + 1, batchInEpoch: 0, seed, best, history, config: plainConfig(config) },
                  variables,
                  extra: (tmp) => student.save(path.join(tmp, 'model')),
                });
                await emit('onCheckpoint', { stage: config.name, step, dir: bestDir, kind: 'best' });
              }
            }
          }
          await emit('onEpochEnd', { stage: config.name, epoch, step, metrics, isBest });
        }
        await writeLast(epoch + 1, 0);
        // Stopped on the stage's very last step: nothing is left to resume, so it completes.
        if (interrupted && step < totalSteps) return await stopInterrupted();
      }
      if (bestWeights && haveBest) {
        tf.tidy(() => trainableVars.forEach((v, i) => v.assign(bestWeights![i])));
        this.logger.info(`stage '${config.name}': restored the best epoch (${best!.metric}=${best!.value.toFixed(4)} at epoch ${best!.epoch + 1})`);
      }
      await emit('onStageEnd', { stage: config.name, status: 'completed', step });
      return { stage: config.name, status: 'completed', steps: step, history, best, finalLoss, checkpoint: lastDir };
    } finally {
      tf.dispose(bestWeights ?? []);
      optimizer.dispose();
      for (const { loss, owned } of losses) if (owned) loss.dispose?.();
    }
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
