// Hinton et al. (2015), §3: a student taught without one class, before and after raising that class's bias.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '@distillery/cli';
import type { BatchSource } from '@distillery/core';
import { BertModel } from '@distillery/models';
import { measureModelDir, metricsOfScored, scoreSource, SPEED_BATCH, testSource, type Metrics, type Scored } from './measure.js';
import { HELDOUT_FILE, HELDOUT_TEACHER_RUN } from './plan.js';
import { hashConfig, type StageTiming } from './run-experiment.js';
import type { RunBook } from './internals/run-book.js';
import { SPAM_GROUPS, spamAssassinGroups, type SpamGroup } from './internals/spam-groups.js';

/**
 * Writes the three-class JSONL files heldout-teacher.yaml and heldout.yaml read, into `dir`:
 * train, validation and test (every class), and train / validation without `heldout`
 * (named *-without-heldout.jsonl whichever class it is). Returns the class counts per file.
 */
export async function writeHeldoutData(dir: string, heldout: SpamGroup): Promise<Record<string, Record<string, number>>> {
  const splits = spamAssassinGroups();
  await fs.mkdir(dir, { recursive: true });
  const files: Record<string, { text: string; group: SpamGroup }[]> = {
    train: splits.train, validation: splits.validation, test: splits.test,
    'train-without-heldout': splits.train.filter((e) => e.group !== heldout),
    'validation-without-heldout': splits.validation.filter((e) => e.group !== heldout),
  };
  const counts: Record<string, Record<string, number>> = {};
  for (const [name, rows] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, `${name}.jsonl`), rows.map((e) => JSON.stringify({ text: e.text, label: e.group })).join('\n') + '\n');
    counts[name] = Object.fromEntries(SPAM_GROUPS.map((g) => [g, rows.filter((e) => e.group === g).length]));
  }
  return counts;
}

/** What the held-out-class experiment found. */
export interface HeldoutOutcome {
  /** The class absent from the student's transfer set. */
  heldout: SpamGroup;
  classes: readonly string[];
  /** The three-class teacher on the test split. */
  teacher: Metrics;
  /** The student on the test split as trained. */
  before: Metrics;
  /** The student with the held-out class's classifier bias raised by `bias`. */
  after: Metrics;
  /** The constant added to the held-out class's bias, chosen on the validation split (every class). */
  bias: number;
  /** Validation macro-F1 with that bias, and with none. */
  validation: { before: number; after: number };
  /** E-mails per class of the student's transfer set. */
  transferCounts: Record<string, number>;
}

/**
 * The bias raise the paper applies (it tuned on test; this tunes on validation): the constant in
 * 0, step, ..., max that maximises validation macro-F1 when added to the held-out class's logit (the
 * smallest such constant when several tie).
 */
export function chooseBias(validation: Scored, classIndex: number, numClasses: number, grid: { max: number; step: number }): { bias: number; f1: number } {
  let best = { bias: 0, f1: -1 };
  for (let k = 0; k * grid.step <= grid.max + 1e-9; k++) {
    const bias = k * grid.step;
    const offsets = Array.from({ length: numClasses }, (_, c) => (c === classIndex ? bias : 0));
    const f1 = metricsOfScored(validation, numClasses, offsets).f1;
    if (f1 > best.f1) best = { bias, f1 };
  }
  return best;
}

/** Adds `delta` to class `classIndex` of the BERT classifier's bias (the weight 'classifier.bias'), in place. */
export function raiseClassBias(model: BertModel, classIndex: number, delta: number): void {
  const bias = model.weights.get('classifier.bias');
  if (!bias) throw new Error(`raiseClassBias: ${model.name} has no 'classifier.bias' weight`);
  const classes = bias.shape[0];
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new Error(`raiseClassBias: class ${classIndex} is not one of the ${classes} classes of ${model.name}`);
  }
  const offset = Array.from({ length: classes }, (_, c) => (c === classIndex ? delta : 0));
  const raised = tf.tidy(() => tf.add(bias, tf.tensor1d(offset)));
  bias.assign(raised);
  raised.dispose();
}

/**
 * Scores the student before and after the bias raise: the constant is chosen on `validation` (every
 * class), written into the model's classifier bias, and the test split is scored again through the model.
 */
export function biasRaise(student: BertModel, data: { validation: BatchSource; test: BatchSource }, heldout: SpamGroup,
  grid: { max: number; step: number }, batchSize = 64) {
  const k = SPAM_GROUPS.indexOf(heldout);
  const n = SPAM_GROUPS.length;
  const before = metricsOfScored(scoreSource(student, data.test, batchSize), n);
  const validation = scoreSource(student, data.validation, batchSize);
  const chosen = chooseBias(validation, k, n, grid);
  raiseClassBias(student, k, chosen.bias);
  const after = metricsOfScored(scoreSource(student, data.test, batchSize), n);
  return { before, after, bias: chosen.bias, validation: { before: metricsOfScored(validation, n).f1, after: chosen.f1 } };
}

/** Writes the three-class data, trains the three-class teacher and the student without `heldout`, and raises its bias. */
export async function runHeldout(book: RunBook, { runDir, heldout, teacherHash, biasGrid }: {
  runDir: string; heldout: SpamGroup; teacherHash: string; biasGrid: { max: number; step: number };
}): Promise<HeldoutOutcome & { stages: StageTiming[] }> {
  const counts = await writeHeldoutData(path.join(runDir, 'heldout', 'data'), heldout);
  const dataHash = hashConfig({ heldout, counts });
  const teacher = await book.run({ id: HELDOUT_TEACHER_RUN.id, file: HELDOUT_TEACHER_RUN.file }, [teacherHash, dataHash],
    async (built, r) => measureModelDir(path.join(r.out, 'students', 'finetune'), testSource(built)));
  const student = await book.run({ id: 'heldout', file: HELDOUT_FILE }, [teacher.hash, dataHash], async (built, r) => {
    const { model } = await loadModel(r.student);
    try {
      if (!(model instanceof BertModel)) throw new Error(`heldout: the student must be a BERT model, got ${model.name}`);
      const validation = built.datasets['validation-all']?.source;
      if (!validation) throw new Error(`${HELDOUT_FILE}: needs a dataset 'validation-all' (every class) to choose the bias on`);
      const transfer = built.datasets.train.examples ?? [];
      const transferCounts = Object.fromEntries(SPAM_GROUPS.map((g, c) => [g, transfer.filter((e) => e.label === c).length]));
      return { ...biasRaise(model, { validation, test: testSource(built) }, heldout, biasGrid, SPEED_BATCH), transferCounts };
    } finally {
      model.dispose?.();
    }
  });
  return {
    heldout, classes: SPAM_GROUPS, teacher: teacher.measured.test, ...student.measured,
    stages: [...teacher.run.stages.map((s) => ({ ...s, name: `${HELDOUT_TEACHER_RUN.id}/${s.name}` })), ...student.run.stages],
  };
}
