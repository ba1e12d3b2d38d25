import { checkNumberOption, type LossSpec } from '@distillery/core';
import type { PkdOptions } from './pkd-loss.js';

const WHO = 'pkdPaperLosses';

/** The knobs of the paper's total; defaults are the reference's `kd.cls` preset. */
export interface PkdPaperOptions extends PkdOptions {
  /** α: weight of the soft (KD) term; the hard cross-entropy gets 1 − α. @default 0.7 */
  alpha?: number;
  /** T: the hinton loss's temperature. @default 10 */
  temperature?: number;
  /** β: weight of the patience term. @default 500 */
  beta?: number;
}

/**
 * The losses of a stage that trains with BERT-PKD's total (reference `kd.cls`: α = 0.7, T = 10, β = 500):
 *
 *   (1 − α)·CE + α·T²·KL_elementwise_mean + β·patience
 *
 * The first two terms are the 'hinton' plugin with hardWeight = 1 − α and reduction 'mean' (torch KLDivLoss's
 * elementwise mean, as the reference's `distillation_loss`); the last is the 'pkd' plugin with weight β.
 * Both plugins must be registered on the Distillery (`.use(hinton).use(pkd)`).
 */
export function pkdPaperLosses({ alpha = 0.7, temperature = 10, beta = 500, ...pkdOptions }: PkdPaperOptions = {}): LossSpec[] {
  const a = checkNumberOption(WHO, 'alpha', alpha, { min: 0, max: 1 });
  checkNumberOption(WHO, 'temperature', temperature, { min: 0, minExclusive: true });
  checkNumberOption(WHO, 'beta', beta, { min: 0 });
  // Rounded so α = 0.7 reads hardWeight 0.3 in logged configs, not 0.30000000000000004.
  const hardWeight = Number((1 - a).toPrecision(12));
  return [
    { use: 'hinton', options: { temperature, hardWeight, reduction: 'mean' } },
    { use: 'pkd', weight: beta, options: Object.fromEntries(Object.entries(pkdOptions).filter(([, v]) => v !== undefined)) },
  ];
}
