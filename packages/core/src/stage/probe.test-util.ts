// A student and losses whose gradients are plain to write by hand, for the stage tests (not part of the package).
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { arraySource } from '../data.js';
import type { BatchSource, DistillationLoss, Feature, ModelInfo, ModelOutputs, Student, Teacher } from '../types.js';

let probes = 0;
const LOGITS: ReadonlySet<Feature> = new Set(['logits']);
const WITH_HIDDEN: ReadonlySet<Feature> = new Set(['logits', 'hidden']);

/**
 * Logits are the same row w + b for every example ([B, C]): w is [1, C] (rank 2, so AdamW decays
 * it by default), b is [C] (rank 1, never decayed). The gradient of a loss over the batch mean of
 * the logits is the same for w and b. With `hidden`, it also emits hidden = [logits as [B, 1, C]]
 * (a feature a loss can train without reading the head's logits).
 */
export class Probe implements Student {
  readonly name: string;
  readonly info: ModelInfo;
  readonly emits: ReadonlySet<Feature>;
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly trainableVariables: tf.Variable[];

  constructor(w0: number[], b0: number[] = w0.map(() => 0), { hidden = false }: { hidden?: boolean } = {}) {
    const id = ++probes;
    this.emits = hidden ? WITH_HIDDEN : LOGITS;
    this.w = tf.tidy(() => tf.variable(tf.tensor2d([w0]), true, `probe${id}/w`));
    this.b = tf.tidy(() => tf.variable(tf.tensor1d(b0), true, `probe${id}/b`));
    this.trainableVariables = [this.w, this.b];
    this.name = `probe(${w0.length})`;
    this.info = { numLayers: 1, hiddenSize: w0.length, numHeads: 1, numLabels: w0.length };
  }

  forward(batch: { inputIds: tf.Tensor2D }, features: ReadonlySet<Feature> = LOGITS): ModelOutputs {
    return tf.tidy(() => {
      const logits = tf.add(tf.matMul(tf.ones([batch.inputIds.shape[0], 1]), this.w), this.b);
      return features.has('hidden') ? { logits, hidden: [tf.expandDims(logits, 1)] } : { logits };
    });
  }

  /** w and b as plain numbers. */
  values(): { w: number[]; b: number[] } {
    return { w: Array.from(this.w.dataSync()), b: Array.from(this.b.dataSync()) };
  }

  async save(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'probe.json'), JSON.stringify(this.values()));
  }

  asTeacher(): Teacher {
    return { name: this.name, info: this.info, emits: this.emits, forward: (b, f) => this.forward(b, f) };
  }

  dispose(): void {
    tf.dispose(this.trainableVariables);
  }
}

/** `size` one-token examples (token i + 1 for example i); labels when given (one per example, or one for all). */
export function probeData(size: number, labels?: number | number[]): BatchSource {
  return arraySource({
    inputIds: Array.from({ length: size }, (_, i) => [i + 1]),
    ...(labels === undefined ? {} : { labels: Array.isArray(labels) ? labels : Array.from({ length: size }, () => labels) }),
  });
}

const column = (logits: tf.Tensor, j: number) => tf.mean(tf.slice(logits, [0, j], [-1, 1]));

/** Σ_j c_j(step) · mean_b logits[b, j]: its gradient w.r.t. w_j (and b_j) is c_j(step); term 'value'. */
export function linearLoss(name: string, c: (step: number) => number[]): DistillationLoss {
  return {
    name, teacherFeatures: new Set(), studentFeatures: LOGITS, variables: [],
    compute: ({ student, step }) => {
      const total = tf.tidy(() => tf.addN(c(step).map((cj, j) => tf.mul(column(student.logits!, j), cj)))) as tf.Scalar;
      return { total, terms: { value: tf.clone(total) } };
    },
  };
}

/** Σ_j (mean_b logits[b, j])²: its gradient w.r.t. w_j (and b_j) is 2(w_j + b_j); term 'sq'. */
export function squareLoss(name: string): DistillationLoss {
  return {
    name, teacherFeatures: new Set(), studentFeatures: LOGITS, variables: [],
    compute: ({ student }) => {
      const total = tf.tidy(() => tf.addN(Array.from({ length: student.logits!.shape[1]! }, (_, j) => tf.square(column(student.logits!, j))))) as tf.Scalar;
      return { total, terms: { sq: tf.clone(total) } };
    },
  };
}

/** mean over rows and columns of (teacher hidden − student hidden)² (last layer); reads no logits. */
export function hiddenLoss(name: string): DistillationLoss {
  const HIDDEN: ReadonlySet<Feature> = new Set(['hidden']);
  return {
    name, teacherFeatures: HIDDEN, studentFeatures: HIDDEN, variables: [],
    compute: ({ teacher, student }) => {
      const total = tf.tidy(() => tf.mean(tf.squaredDifference(teacher.hidden!.at(-1)!, student.hidden!.at(-1)!))) as tf.Scalar;
      return { total, terms: {} };
    },
  };
}

/** mean over the batch of (token id) · logits[:, 0]: a value that depends on which examples a batch holds. */
export function tokenLoss(name: string): DistillationLoss {
  return {
    name, teacherFeatures: new Set(), studentFeatures: LOGITS, variables: [],
    compute: ({ student, batch }) => {
      const total = tf.tidy(() => tf.mean(tf.mul(tf.cast(tf.reshape(batch.inputIds, [-1]), 'float32'), tf.reshape(tf.slice(student.logits!, [0, 0], [-1, 1]), [-1])))) as tf.Scalar;
      return { total, terms: {} };
    },
  };
}
