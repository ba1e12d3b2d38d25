import { DistilleryError } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { allocate, strata } from './internals/strata.js';
import { IGNORE_INDEX } from './mlm.js';

/**
 * The label of an example whose label is hidden: -100, as in mlmLabels. Hard-label losses average
 * over the other rows of a batch and metrics leave such rows out; soft (teacher) terms use them.
 */
export const HIDDEN_LABEL = IGNORE_INDEX;

/** Which rows of a labelled dataset keep their label: give `fraction` or `count`. */
export interface KeepLabelsOptions {
  /** Share of the labelled rows that keep their label, in [0, 1]; round(fraction × labelled rows) are kept. */
  fraction?: number;
  /** Number of labelled rows that keep their label (at most the number of labelled rows). */
  count?: number;
  /** Seeds the draw: the same seed and examples keep the same rows on every run and machine. @default 42 */
  seed?: number;
  /** Draw within each class so the kept rows keep the class shares (needs class ids; false for regression). @default true */
  stratify?: boolean;
}

/** What keepLabels did: counts, the options it ran with, and per class when the labels are class ids. */
export interface KeptLabels {
  /** Rows in all (hidden and labelled). */
  rows: number;
  /** Rows that had a label before the draw (rows already hidden are not drawn). */
  labelled: number;
  /** Rows that keep their label. */
  kept: number;
  fraction?: number;
  count?: number;
  seed: number;
  stratify: boolean;
  /** Per class id (ascending), when every label is a class id: rows that keep their label, of those that had one. */
  classes?: { label: number; kept: number; labelled: number }[];
}

const fail = (message: string) => new DistilleryError(`keepLabels: ${message}`, 'config');

/**
 * Keeps the labels of a seeded fraction or count of the examples and hides the rest (label
 * HIDDEN_LABEL, -100), the same rows on every run. Stratified by default: each class keeps its share
 * (largest-remainder rounding, so the total is exact), drawing with its own seeded stream. Rows
 * already hidden stay hidden and are not drawn; an example without any label fails (an unlabelled
 * set has no labels to keep). Returns new examples (kept ones are the same objects) and a report.
 */
export function keepLabels<T extends { label?: number }>(
  examples: readonly T[], options: KeepLabelsOptions,
): { examples: T[]; report: KeptLabels } {
  const { fraction, count, seed = 42, stratify = true } = options ?? {};
  if ((fraction === undefined) === (count === undefined)) {
    throw fail(`give 'fraction' (a share of the labelled rows, in [0, 1]) or 'count' (a number of rows), ${fraction === undefined ? 'got neither' : 'not both'}`);
  }
  if (fraction !== undefined && !(typeof fraction === 'number' && fraction >= 0 && fraction <= 1)) {
    throw fail(`option 'fraction' must be a number in [0, 1], got ${JSON.stringify(fraction)}`);
  }
  if (count !== undefined && !(Number.isInteger(count) && count >= 0)) throw fail(`option 'count' must be an integer >= 0, got ${JSON.stringify(count)}`);
  if (!Number.isInteger(seed)) throw fail(`option 'seed' must be an integer, got ${JSON.stringify(seed)}`);
  if (typeof stratify !== 'boolean') throw fail(`option 'stratify' must be true or false, got ${JSON.stringify(stratify)}`);

  const candidates: number[] = [];
  let classIds = true;
  examples.forEach((e, i) => {
    if (e.label === undefined) throw fail(`example ${i} has no label: only a labelled dataset can keep some of its labels`);
    if (e.label === HIDDEN_LABEL) return;
    candidates.push(i);
    if (!(Number.isInteger(e.label) && e.label >= 0)) {
      if (stratify) throw fail(`stratify needs class ids, but example ${i} has label ${e.label}; set stratify: false for regression targets`);
      classIds = false;
    }
  });
  const total = count ?? Math.round(fraction! * candidates.length);
  if (total > candidates.length) {
    throw fail(`option 'count' must be at most the number of labelled rows (${candidates.length}), got ${total}`);
  }

  const keep = new Set<number>();
  const groups = stratify ? strata(candidates, (i) => String(examples[i].label)) : [['all', candidates] as [string, number[]]];
  const shares = allocate(groups.map(([, members]) => members.length), total);
  groups.forEach(([key, members], g) => {
    for (const i of Rng.derive(seed, 'keep-labels', key).shuffle([...members]).slice(0, shares[g])) keep.add(i);
  });

  const out = examples.map((e, i) => (e.label === HIDDEN_LABEL || keep.has(i) ? e : { ...e, label: HIDDEN_LABEL }));
  const report: KeptLabels = {
    rows: examples.length, labelled: candidates.length, kept: keep.size,
    ...(fraction === undefined ? { count } : { fraction }), seed, stratify,
  };
  if (classIds) {
    const byClass = new Map<number, { label: number; kept: number; labelled: number }>();
    for (const i of candidates) {
      const label = examples[i].label!;
      let entry = byClass.get(label);
      if (!entry) byClass.set(label, (entry = { label, kept: 0, labelled: 0 }));
      entry.labelled++;
      if (keep.has(i)) entry.kept++;
    }
    report.classes = [...byClass.values()].sort((a, b) => a.label - b.label);
  }
  return { examples: out, report };
}

const thousands = (n: number) => n.toLocaleString('en-US');
const percent = (f: number) => `${Number((f * 100).toPrecision(3))} %`;

/**
 * One line for logs: `231 of 4,623 rows keep their label (5 %, seed 1, stratified; ham 159 of
 * 3,267, spam 72 of 1,356)`; `names` gives class names by id.
 */
export function describeKeptLabels(report: KeptLabels, names?: readonly string[]): string {
  const how = report.fraction === undefined ? `count ${thousands(report.count!)}` : percent(report.fraction);
  const parts = [how, `seed ${report.seed}`, report.stratify ? 'stratified' : 'not stratified'];
  const hiddenBefore = report.rows - report.labelled;
  if (hiddenBefore > 0) parts.push(`${thousands(hiddenBefore)} hidden before`);
  const classes = report.classes && report.classes.length <= 10
    ? `; ${report.classes.map((c) => `${names?.[c.label] ?? c.label} ${thousands(c.kept)} of ${thousands(c.labelled)}`).join(', ')}` : '';
  return `${thousands(report.kept)} of ${thousands(report.rows)} rows keep their label (${parts.join(', ')}${classes})`;
}
