import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod';
import { parseOptions } from '../schema/options.js';
import { optimizerSchema } from '../stage-schema.js';

// The bounds of a stage's `optimizer` block, so code and pipeline files refuse the same values.
const adamwSchema = optimizerSchema.pick({ beta1: true, beta2: true, epsilon: true, weightDecay: true })
  .extend({ decay: z.custom<(variable: tf.Variable) => boolean>((v) => typeof v === 'function').optional() });

/** AdamW settings (decoupled weight decay, as torch.optim.AdamW). */
export interface AdamWOptions {
  /** In [0, 1): 1 would divide by zero in the bias correction. @default 0.9 */
  beta1?: number;
  /** In [0, 1). @default 0.999 */
  beta2?: number;
  /** > 0. @default 1e-8 */
  epsilon?: number;
  /** Decoupled weight decay. @default 0.01 */
  weightDecay?: number;
  /**
   * Which variables are decayed. Default: rank ≥ 2 only, so biases and layer-norm parameters
   * (rank 1) are not, as BERT fine-tuning recipes do.
   */
  decay?: (variable: tf.Variable) => boolean;
}

/**
 * AdamW, step for step as torch.optim.AdamW:
 * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε).
 * Its moments and step count are exposed for checkpoints. One step count serves every variable,
 * as torch's does when every parameter gets a gradient each step; a variable whose gradient is
 * missing on a step keeps its moments (torch skips it too) but the shared count still advances.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly decay: (v: tf.Variable) => boolean;
  private moments = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  /** Number of updates applied. */
  step = 0;

  constructor(readonly variables: readonly tf.Variable[], options: AdamWOptions = {}) {
    const {
      beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01, decay = (v: tf.Variable) => v.rank >= 2,
    } = parseOptions(adamwSchema, options, 'adamw options');
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
    this.decay = decay;
    for (const variable of variables) {
      // tidy: a variable shares its initial tensor's data, which would otherwise stay alive.
      this.moments.set(variable, tf.tidy(() => ({
        m: tf.variable(tf.zerosLike(variable), false),
        v: tf.variable(tf.zerosLike(variable), false),
      })));
    }
  }

  /** Applies one update; `grads` maps variable names to gradients (missing = no gradient this step). */
  applyGradients(grads: Record<string, tf.Tensor>, learningRate: number): void {
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    tf.tidy(() => {
      for (const p of this.variables) {
        const g = grads[p.name];
        if (!g) continue;
        const { m, v } = this.moments.get(p)!;
        const wd = this.decay(p) ? this.weightDecay : 0;
        const newM = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const newV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(newV), Math.sqrt(bc2)), this.epsilon);
        const decayed = wd > 0 ? tf.mul(p, 1 - learningRate * wd) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(newM, denom), learningRate / bc1)));
        m.assign(newM);
        v.assign(newV);
      }
    });
  }

  /** The first and second moments of each variable, in `variables` order: the live variables, not copies. */
  getState(): { step: number; m: tf.Tensor[]; v: tf.Tensor[] } {
    const ms = this.variables.map((p) => this.moments.get(p)!);
    return { step: this.step, m: ms.map((x) => x.m), v: ms.map((x) => x.v) };
  }

  /** Restores moments saved by getState() (values are copied). */
  setState(state: { step: number; m: tf.Tensor[]; v: tf.Tensor[] }): void {
    this.variables.forEach((p, i) => {
      const slot = this.moments.get(p)!;
      slot.m.assign(state.m[i]);
      slot.v.assign(state.v[i]);
    });
    this.step = state.step;
  }

  /** Frees the moment variables. */
  dispose(): void {
    for (const { m, v } of this.moments.values()) { m.dispose(); v.dispose(); }
    this.moments.clear();
  }
}
