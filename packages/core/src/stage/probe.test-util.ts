// A student and losses whose gradients are plain to write by hand, for the stage tests (not part of the package).
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { arraySource } from '../data.js';
import type { BatchSource, DistillationLoss, Feature, ModelInfo, ModelOutputs, Student, Teacher } from '../types.js';

let probes = 0;
const LOGITS: ReadonlySet<Feature> = new Set(['logits']);

/**
 * Logits are the same row w + b for every example ([B, C]): w is [1, C] (rank 2, so AdamW decays
 * it by default), b is [C] (rank 1, never decayed). The gradient of a loss over the batch mean of
 * the logits is the same for w and b.
 */
export class Probe implements Student {
  readonly name: string;
  readonly info: ModelInfo;
  readonly emits = LOGITS;
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly trainableVariables: tf.Variable[];

  constructor(w0: number[], b0: number[] = w0.map(() => 0)) {
    const id = ++probes;
    this.w = tf.tidy(() => tf.variable(tf.tensor2d([w0]), true, `probe${id}/w`));
    this.b = tf.tidy(() => tf.variable(tf.tensor1d(b0), true, `probe${id}/b`));
    this.trainableVariables = [this.w, this.b];
    this.name = `probe(${w0.length})`;
    this.info = { numLayers: 1, hiddenSize: w0.length, numHeads: 1, numLabels: w0.length };
  }

  forward(batch: { inputIds: tf.Tensor2D }): ModelOutputs {
    return tf.tidy(() => ({ logits: tf.add(tf.matMul(tf.ones([batch.inputIds.shape[0], 1]), this.w), this.b) }));
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
    return { name: this.name, info: this.info, emits: this.emits, forward: (b) => this.forward(b) };
  }

  dispose(): void {
    tf.dispose(this.trainableVariables);
  }
}

/** `size` one-token examples; labels when given (one per example, or one for all). */
export function probeData(size: number, labels?: number | number[]): BatchSource {
  return arraySource({
    inputIds: Array.from({ length: size }, () => [1]),
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
