import type * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../internals/rng.js';
import type { Logger } from '../logger.js';
import { AdamW } from '../optim/adamw.js';
import { makeSchedule } from '../optim/schedule.js';
import type { PluginEnv } from '../plugins.js';
import { checkOptionKeys, type PluginRegistry } from '../registry.js';
import type { ResolvedStage, StageConfig } from '../stage.js';
import type { BatchSource, Feature, LayerMapping } from '../types.js';
import { buildLosses, checkFeatures, disposeLosses, stageError, unionOf, type BoundLoss } from './losses.js';

/** How many steps a stage runs and in which order it reads its data. */
export interface StagePlan {
  /** Seeds data order, dropout and learnable loss parts. */
  seed: number;
  /** Training examples per step. */
  batchSize: number;
  /** The training data. */
  train: BatchSource;
  /** The batches (example indices) of a 0-based epoch. */
  epochBatches(epoch: number): number[][];
  /** Batches in every epoch. */
  stepsPerEpoch: number;
  /** Steps of the whole stage (maxSteps, else epochs · stepsPerEpoch). */
  totalSteps: number;
  /** Epochs begun, the last possibly cut short by maxSteps. */
  epochs: number;
}

/** A stage ready to train: its plan, losses, trainable variables, optimizer, schedule and clipping. */
export interface StageSetup extends StagePlan {
  /** What the loss plugins were told (both models' info, mapping, seed, logger). */
  env: PluginEnv;
  /** The stage's losses, in config order. */
  losses: BoundLoss[];
  /** Every feature a loss reads from the teacher. */
  teacherFeatures: ReadonlySet<Feature>;
  /** Every feature a loss reads from the student. */
  studentFeatures: ReadonlySet<Feature>;
  /** The student's variables then the losses' own, with the keys checkpoints store them under. */
  variables: { key: string; variable: tf.Variable }[];
  /** AdamW over `variables`. */
  optimizer: AdamW;
  /** Global-norm clipping threshold; 0 turns clipping off. */
  clipNorm: number;
  /** Learning rate of each 1-based step. */
  schedule: (step: number) => number;
}

/** Checks the stage's data and lengths, and fixes the data order from the seed (or the source's own). */
export function planStage(config: StageConfig): StagePlan {
  // batchSize, epochs and maxSteps were checked with the stage settings (checkStageSettings) when the pipeline started.
  const fail = (message: string) => stageError(config.name, message);
  const seed = config.seed ?? 42;
  const batchSize = config.batchSize ?? 32;
  const train = config.data?.train;
  if (!train || !(train.size > 0)) throw fail(`data.train must be a batch source with at least one example`);
  const epochBatches = (epoch: number): number[][] => {
    if (train.epochBatches) return train.epochBatches(epoch, seed, batchSize);
    const order = Rng.derive(seed, 'epoch', epoch).shuffle(Array.from({ length: train.size }, (_, i) => i));
    return Array.from({ length: Math.ceil(order.length / batchSize) }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
  };
  const stepsPerEpoch = epochBatches(0).length;
  if (stepsPerEpoch < 1) throw fail(`data.train gives no batches for epoch 1`);
  const epochsWanted = config.epochs ?? 1;
  const totalSteps = config.maxSteps ?? epochsWanted * stepsPerEpoch;
  return { seed, batchSize, train, epochBatches, stepsPerEpoch, totalSteps, epochs: Math.ceil(totalSteps / stepsPerEpoch) };
}

/**
 * Sets a stage up before its first step: plan, mapping, losses (their features checked against both
 * models), optimizer over the student's and the losses' variables, clipping and schedule. On an
 * error, what it built so far is freed.
 */
export function setupStage(stage: ResolvedStage, registry: PluginRegistry, logger: Logger): StageSetup {
  const { config, student, teacher } = stage;
  const plan = planStage(config);
  const resolveMapping = (ref: StageConfig['mapping'], where: string): LayerMapping | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === 'string') return registry.get('mapping', ref).create({});
    if ('pairs' in ref && typeof ref.pairs === 'function') return ref as LayerMapping;
    const { use, options = {} } = ref as { use: string; options?: Record<string, unknown> };
    const plugin = registry.get('mapping', use);
    checkOptionKeys(plugin, options, where);
    return plugin.create(options);
  };
  const env: PluginEnv = {
    teacherInfo: teacher?.info ?? student.info,
    studentInfo: student.info,
    mapping: resolveMapping(config.mapping, `stage '${config.name}' mapping`),
    resolveMapping: (name, options = {}) => resolveMapping({ use: name, options }, `stage '${config.name}'`)!,
    seed: plan.seed,
    logger,
  };
  const losses = buildLosses(config, registry, env);
  let optimizer: AdamW | undefined;
  try {
    checkFeatures(config.name, losses, teacher, student);
    const variables = [
      ...student.trainableVariables.map((variable, i) => ({ key: `student.${i}`, variable })),
      ...losses.flatMap(({ label, loss }) => loss.variables.map((variable, i) => ({ key: `loss.${label}.${i}`, variable }))),
    ];
    const opt = config.optimizer ?? {};
    optimizer = new AdamW(variables.map((v) => v.variable), {
      beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon, weightDecay: opt.weightDecay,
    });
    // Bounded (>= 0) by the stage settings' schema, as the optimizer's other keys are.
    const clipNorm = opt.clipNorm ?? 1;
    const schedule = makeSchedule({
      type: opt.schedule, learningRate: opt.learningRate, warmupSteps: opt.warmupSteps, warmupRatio: opt.warmupRatio,
    }, plan.totalSteps);
    return {
      ...plan, env, losses, variables, optimizer, clipNorm, schedule,
      teacherFeatures: unionOf(losses.map((l) => l.loss.teacherFeatures)),
      studentFeatures: unionOf(losses.map((l) => l.loss.studentFeatures)),
    };
  } catch (error) {
    optimizer?.dispose();
    disposeLosses(losses);
    throw error;
  }
}

/** Frees what setupStage built: the optimizer's moments and the losses made from plugins. */
export function disposeSetup(setup: StageSetup): void {
  setup.optimizer.dispose();
  disposeLosses(setup.losses);
}
