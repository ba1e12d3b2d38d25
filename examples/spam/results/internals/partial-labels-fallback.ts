// TEMPORARY, until partial labels are merged into @distillery/data and core (hidden labels = -100,
// hard-label terms averaging over labelled rows). Delete this file then, with its use in
// run-experiment.ts: regime.ts's withRegime() will be all there is.
//
// Until then the 5 % regime is emulated around the built pipeline: the same seeded, stratified
// choice of labelled e-mails, but every batch is either wholly labelled or carries no labels. The
// hinton loss skips its hard term on a batch without labels (its soft term then has weight 1, not
// 1 − γ), so hard-label terms still see only the kept labels; a stage whose only loss is
// 'supervised' trains on the labelled e-mails alone (repeated to the usual epoch length).
import { Rng, type Batch, type BatchSource, type StageConfig } from '@distillery/core';

/** Indices kept labelled: per class, round(fraction · count) of them (at least one), drawn with seed. */
export function keptLabelRows(labels: readonly (number | undefined)[], fraction: number, seed: number): number[] {
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    if (label === undefined) return;
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  });
  const kept: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = Rng.derive(seed, 'labels', label).shuffle([...byClass.get(label)!]);
    kept.push(...rows.slice(0, Math.max(1, Math.round(fraction * rows.length))));
  }
  return kept.sort((a, b) => a - b);
}

const chunks = (rows: number[], size: number) =>
  Array.from({ length: Math.ceil(rows.length / size) }, (_, b) => rows.slice(b * size, (b + 1) * size));

/** A source whose batches are wholly labelled (rows in `kept`) or unlabelled (labels dropped). */
function splitBatchesSource(source: BatchSource, kept: ReadonlySet<number>): BatchSource {
  const labelled = [...kept];
  const unlabelled = Array.from({ length: source.size }, (_, i) => i).filter((i) => !kept.has(i));
  return {
    size: source.size,
    batch(indices: number[]): Batch {
      const batch = source.batch(indices);
      if (indices.every((i) => kept.has(i)) || !batch.labels) return batch;
      const { labels, ...rest } = batch;
      labels.dispose();
      return rest;
    },
    epochBatches(epoch: number, seed: number, batchSize: number): number[][] {
      const rng = Rng.derive(seed, 'partial-labels', epoch);
      const batches = [...chunks(rng.shuffle([...labelled]), batchSize), ...chunks(rng.shuffle([...unlabelled]), batchSize)];
      return rng.shuffle(batches);
    },
  };
}

/**
 * The labelled rows alone, repeated to the source's size: an epoch has as many steps as the other
 * methods' epochs, so the baseline is not under-trained (its best epoch is chosen on validation).
 */
function labelledOnlySource(source: BatchSource, rows: readonly number[]): BatchSource {
  return { size: source.size, batch: (indices) => source.batch(indices.map((i) => rows[i % rows.length])) };
}

/**
 * Rewires the stages that train on `source` (the transfer set) so hard-label terms see only the rows
 * of `kept`: a supervised-only stage trains on those rows; any other stage gets split batches.
 */
export function emulatePartialLabels(stages: StageConfig[], source: BatchSource, kept: readonly number[]): void {
  const keptSet = new Set(kept);
  for (const stage of stages) {
    if (stage.data.train !== source) continue;
    const supervisedOnly = stage.losses.every((l) => l.use === 'supervised');
    stage.data = { ...stage.data, train: supervisedOnly ? labelledOnlySource(source, kept) : splitBatchesSource(source, keptSet) };
  }
}
