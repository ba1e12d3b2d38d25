import { parseOptions, type LossSpec } from '@distillery/core';
import * as z from 'zod';
import { pkdOptions } from './pkd-loss.js';

const WHO = 'pkdPaperLosses';

/** The knobs of the paper's total and the pkd options; defaults are the reference's `kd.cls` preset. */
export const pkdPaperOptions = pkdOptions.extend({
  /** α: weight of the soft (KD) term; the hard cross-entropy gets 1 − α. @default 0.7 */
  alpha: z.number().min(0).max(1).default(0.7),
  /** T: the hinton loss's temperature. @default 10 */
  temperature: z.number().gt(0).default(10),
  /** β: weight of the patience term. @default 500 */
  beta: z.number().min(0).default(500),
});

/** The knobs of the paper's total (every key optional). */
export type PkdPaperOptions = z.input<typeof pkdPaperOptions>;

/**
 * The losses of a stage that trains with BERT-PKD's total (reference `kd.cls`: α = 0.7, T = 10, β = 500):
 *
 *   (1 − α)·CE + α·T²·KL_elementwise_mean + β·patience
 *
 * The first two terms are the 'hinton' plugin with hardWeight = 1 − α and reduction 'mean' (torch KLDivLoss's
 * elementwise mean, as the reference's `distillation_loss`); the last is the 'pkd' plugin with weight β.
 * Both plugins must be registered on the Distillery (`.use(hinton).use(pkd)`).
 */
export function pkdPaperLosses(options: PkdPaperOptions = {}): LossSpec[] {
  const { alpha: a, temperature, beta } = parseOptions(pkdPaperOptions, options, `${WHO} options`);
  // The pkd options go on as given (checked above): its own defaults stay its own.
  const { alpha: _a, temperature: _t, beta: _b, ...given } = options;
  // Rounded so α = 0.7 reads hardWeight 0.3 in logged configs, not 0.30000000000000004.
  const hardWeight = Number((1 - a).toPrecision(12));
  return [
    { use: 'hinton', options: { temperature, hardWeight, reduction: 'mean' } },
    { use: 'pkd', weight: beta, options: Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) },
  ];
}
