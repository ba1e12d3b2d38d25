// The label regimes of the results: all labels, or a seeded, stratified fraction of them.
// This file is THE one place where a regime enters a pipeline config.

/** A label regime: which share of the transfer set's labels the hard-label terms may see. */
export interface Regime {
  /** Stable key, used in run folder names ('all', '5pct'). */
  id: string;
  /** For tables: 'all labels', '5 % labels'. */
  label: string;
  /** Share of the labels kept, in (0, 1]; 1 = all. */
  fraction: number;
}

/** Every label of the train split. */
export const ALL_LABELS: Regime = { id: 'all', label: 'all labels', fraction: 1 };
/** 5 % of the labels; the transfer set is still every training e-mail. */
export const FEW_LABELS: Regime = { id: '5pct', label: '5 % labels', fraction: 0.05 };
/** The two regimes of every method, in table order. */
export const REGIMES: readonly Regime[] = [ALL_LABELS, FEW_LABELS];
/** Seed of the choice of labelled e-mails: the same ones for every method. */
export const LABEL_SEED = 1;
/** The dataset of each experiment file whose labels a regime thins out (the transfer set). */
export const TRANSFER_DATASET = 'train';

/**
 * The dataset definition with the regime applied: @distillery/data's `keepLabels` hides the other labels
 * (-100), or, with `drop`, leaves the unlabelled rows out (a student with no teacher learns nothing from them).
 */
export function withRegime(def: Record<string, unknown>, regime: Regime, { drop = false } = {}): Record<string, unknown> {
  if (regime.fraction >= 1) return def;
  return { ...def, keepLabels: { fraction: regime.fraction, seed: LABEL_SEED, ...(drop ? { others: 'drop' } : {}) } };
}

/** Whether no stage of the file has a teacher: then only the labelled rows can teach it (the from-scratch baseline). */
const teacherless = (raw: Record<string, any>) =>
  Array.isArray(raw.stages) && raw.stages.every((s: Record<string, unknown>) => s?.name !== undefined && s.teacher === undefined);

/** The raw pipeline config (as parsed from YAML) with the regime applied to its transfer set. */
export function applyRegime(raw: Record<string, any>, regime: Regime, file: string): Record<string, any> {
  if (regime.fraction >= 1) return raw;
  const def = raw.data?.[TRANSFER_DATASET];
  if (!def || typeof def !== 'object') {
    throw new Error(`${file}: the label regime '${regime.id}' needs a dataset 'data.${TRANSFER_DATASET}' (the transfer set)`);
  }
  const drop = teacherless(raw);
  const data = { ...raw.data, [TRANSFER_DATASET]: withRegime(def, regime, { drop }) };
  if (!drop) return { ...raw, data };
  // Trained on the labelled rows alone, the student gets as many steps as with all the labels (epochs ÷ fraction);
  // its best epoch is still chosen on validation.
  const stages = raw.stages.map((s: Record<string, any>) =>
    (s.maxSteps === undefined ? { ...s, epochs: Math.ceil((s.epochs ?? 1) / regime.fraction) } : s));
  return { ...raw, data, stages };
}
