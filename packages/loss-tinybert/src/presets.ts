import type { LossSpec } from '@distillery/core';
import type { TinybertOptions } from './tinybert-loss.js';

/**
 * The losses of TinyBERT's two stages (the reference has no hard-label term in either):
 * - `intermediate`: attention + hidden, weights 1 and 1 (the reference's `loss = rep_loss + att_loss`), used for
 *   general distillation and for the first task stage;
 * - `prediction`: the soft cross-entropy alone (`--pred_distill`).
 * The 'tinybert' plugin must be registered on the Distillery (`.use(tinybert)`).
 */
export const tinybertPresets = {
  /** Attention + hidden distillation, weight 1. */
  intermediate: (options: Pick<TinybertOptions, 'projection' | 'layers' | 'teacherHeads'> = {}): LossSpec[] =>
    [{ use: 'tinybert', weight: 1, options: { ...options, stage: 'intermediate' } }],
  /** Prediction-layer distillation, weight 1. */
  prediction: (options: Pick<TinybertOptions, 'temperature'> = {}): LossSpec[] =>
    [{ use: 'tinybert', weight: 1, options: { ...options, stage: 'prediction' } }],
} as const;
