import * as tf from '@tensorflow/tfjs-core';
import { disposeBatch } from '../data.js';
import { NonFiniteLossError } from '../errors.js';
import { Rng } from '../internals/rng.js';
import { clipByGlobalNorm } from '../optim/clip.js';
import type { Batch, LossContext, ModelOutputs, Student, Teacher } from '../types.js';
import type { StageSetup } from './setup.js';

/** What one optimizer step reports. */
export interface StepValues {
  /** The weighted total that was minimised. */
  loss: number;
  /** Each loss's total and unweighted terms, by label. */
  terms: Record<string, number>;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The rate the update used. */
  learningRate: number;
}

/** What a step needs besides its batch. */
export interface StepContext {
  /** The stage's name, for errors. */
  stage: string;
  /** The stage's losses, variables, optimizer, clipping and schedule. */
  setup: StageSetup;
  /** The model trained. */
  student: Student;
  /** The frozen teacher, when the stage has one. */
  teacher?: Teacher;
  /** The `last/` checkpoint on disk, named when a step fails. */
  lastCheckpoint(): string | undefined;
}

/**
 * One training step on `batch` (freed here), the `step`-th (1-based): teacher forward in a tidy (no
 * gradient) → student forward and Σ weight·loss under tf.variableGrads → one read of every term and
 * the gradient norm → finiteness check (a NaN never touches the weights) → clip by global norm →
 * AdamW at the schedule's rate for this step.
 */
export function trainStep(ctx: StepContext, batch: Batch, step: number): StepValues {
  const { setup, student, teacher } = ctx;
  const { losses, env, optimizer, clipNorm } = setup;
  const variables = setup.variables.map((v) => v.variable);
  let teacherOut: ModelOutputs = {};
  try {
    if (teacher && setup.teacherFeatures.size) {
      teacherOut = tf.tidy(() => teacher.forward(batch, setup.teacherFeatures) as tf.TensorContainer) as ModelOutputs;
    }
    const dropoutSeed = Rng.derive(setup.seed, 'dropout', step).nextUint32();
    let names: string[] = [];
    let reported: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const studentOut = student.forward(batch, setup.studentFeatures, { training: true, seed: dropoutSeed });
      const lossCtx: LossContext = {
        teacher: teacherOut, student: studentOut, batch, teacherInfo: env.teacherInfo, studentInfo: env.studentInfo, step,
      };
      const scalars: tf.Scalar[] = [];
      names = [];
      let total: tf.Scalar | undefined;
      for (const { label, weight, loss } of losses) {
        const result = loss.compute(lossCtx);
        names.push(label);
        scalars.push(result.total);
        for (const [term, t] of Object.entries(result.terms)) { names.push(`${label}.${term}`); scalars.push(t); }
        const weighted = tf.mul(result.total, weight) as tf.Scalar;
        total = total ? tf.add(total, weighted) as tf.Scalar : weighted;
      }
      reported = tf.keep(tf.stack([total!, ...scalars.map((s) => tf.reshape(s, []))]));
      return total!;
    }, variables);
    // One read per step: every term and the gradient norm together.
    const all = tf.tidy(() => tf.concat([reported!,
      tf.reshape(tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))), [1])]));
    const values = all.dataSync() as Float32Array;
    tf.dispose([all, reported!, value]);
    if (!values.every((v) => Number.isFinite(v))) {
      tf.dispose(grads);
      throw nonFinite(ctx, step, names, values);
    }
    const learningRate = setup.schedule(step);
    const clipped = clipNorm > 0 ? clipByGlobalNorm(grads, clipNorm) : grads;
    optimizer.applyGradients(clipped, learningRate);
    if (clipped !== grads) tf.dispose(clipped);
    tf.dispose(grads);
    const terms: Record<string, number> = {};
    names.forEach((n, i) => { terms[n] = values[i + 1]; });
    return { loss: values[0], terms, gradNorm: values[values.length - 1], learningRate };
  } finally {
    tf.dispose(teacherOut as tf.TensorContainer);
    disposeBatch(batch);
  }
}

/** Names the first loss term that went bad; the total or the gradient norm only if no term did. */
function nonFinite(ctx: StepContext, step: number, names: string[], values: Float32Array): NonFiniteLossError {
  const termIndex = names.findIndex((_, i) => !Number.isFinite(values[i + 1]));
  const [term, bad] = termIndex >= 0 ? [names[termIndex], values[termIndex + 1]]
    : !Number.isFinite(values[0]) ? ['loss', values[0]] : ['gradient norm', values[values.length - 1]];
  const last = ctx.lastCheckpoint();
  return new NonFiniteLossError(
    `stage '${ctx.stage}': step ${step}: '${term}' is ${bad}; training stopped with the weights ` +
    `of step ${step - 1}` + (last ? `; the last good checkpoint ${last} is kept` : ''),
    step, term, last);
}
