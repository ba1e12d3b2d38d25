import { DistilleryError } from '../errors.js';

/** A learning-rate schedule: the rate for each 1-based step. */
export interface ScheduleConfig {
  /** 'linear': warm up then decay linearly to 0 at the last step; 'constant': warm up then hold. @default 'linear' */
  type?: 'linear' | 'constant';
  /** Peak learning rate. @default 5e-5 */
  learningRate?: number;
  /** Warm-up steps (takes precedence over warmupRatio). @default 0 */
  warmupSteps?: number;
  /** Warm-up as a fraction of all steps. @default 0 */
  warmupRatio?: number;
}

/**
 * Returns step → learning rate, as Hugging Face's get_linear_schedule_with_warmup /
 * get_constant_schedule_with_warmup: step s (1-based) uses the factor for s − 1.
 */
export function makeSchedule(config: ScheduleConfig, totalSteps: number): (step: number) => number {
  const { type = 'linear', learningRate = 5e-5, warmupRatio = 0 } = config;
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new DistilleryError(`schedule: learningRate must be a positive number, got ${learningRate}`, 'config');
  }
  if (type !== 'linear' && type !== 'constant') {
    throw new DistilleryError(`schedule: type must be 'linear' or 'constant', got ${JSON.stringify(type)}`, 'config');
  }
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
    throw new DistilleryError(`schedule: warmupRatio must be in [0, 1], got ${warmupRatio}`, 'config');
  }
  const warmup = config.warmupSteps ?? Math.ceil(warmupRatio * totalSteps);
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new DistilleryError(`schedule: warmupSteps must be a non-negative integer, got ${warmup}`, 'config');
  }
  return (step: number) => {
    const s = step - 1;
    if (s < warmup) return (learningRate * s) / Math.max(1, warmup);
    if (type === 'constant') return learningRate;
    return learningRate * Math.max(0, (totalSteps - s) / Math.max(1, totalSteps - warmup));
  };
}
