import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdamW, DistilleryError, selectBackend, silentLogger } from '@distillery/core';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

let counter = 0;
const unique = (base: string) => `adamw-test/${base}/${counter++}`;
const live: { dispose(): void }[] = [];
afterEach(() => { while (live.length) live.pop()!.dispose(); });

function variable(values: number[], shape: number[], base: string): tf.Variable {
  // Inside tidy, so the initial tensor is freed (the variable keeps its data).
  const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), true, unique(base)));
  live.push(v);
  return v;
}

interface RefOptions { beta1: number; beta2: number; eps: number; wd: number }

/**
 * torch.optim.AdamW (single tensor, amsgrad off, maximize off) in float64, for one parameter:
 *   p *= 1 − lr·wd
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   denom = sqrt(v) / sqrt(1 − β2^t) + eps
 *   p −= (lr / (1 − β1^t)) · m / denom
 */
class RefAdamW {
  m: Float64Array;
  v: Float64Array;
  t = 0;
  constructor(public p: Float64Array, private o: RefOptions, private decayed: boolean) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: number[], lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps } = this.o;
    const wd = this.decayed ? this.o.wd : 0;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] *= 1 - lr * wd;
      this.m[i] = beta1 * this.m[i] + (1 - beta1) * g[i];
      this.v[i] = beta2 * this.v[i] + (1 - beta2) * g[i] * g[i];
      const denom = Math.sqrt(this.v[i]) / Math.sqrt(bc2) + eps;
      this.p[i] -= (lr / bc1) * (this.m[i] / denom);
    }
  }
}

/** |actual − expected| ≤ 1e-5 · |expected| elementwise (plus 1e-7 absolute for values near 0). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.abs(expected[i]) + 1e-7;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

// Deterministic gradients that change sign and size from step to step.
const gradW = (t: number) => [0.3, -0.7, 1.1, -0.2, 0.05, 0.9].map((x, i) => x * Math.cos(t + i) + 0.1 * t * (i % 2 ? -1 : 1));
const gradB = (t: number) => [0.4, -0.25, 0.6].map((x, i) => x * Math.sin(2 * t + i + 0.5) - 0.05 * t);
const lrs = [1e-2, 5e-3, 2e-2, 1e-3, 8e-3, 3e-2];
const W0 = [0.8, -1.2, 0.5, 1.5, -0.6, 1.0];
const B0 = [0.3, -0.9, 1.25];

describe('AdamW vs a float64 torch.optim.AdamW reference', () => {
  it('several steps with changing gradients and learning rates; rank-2 decayed, rank-1 not', () => {
    const W = variable(W0, [2, 3], 'W');
    const b = variable(B0, [3], 'b');
    const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1 };
    const opt = new AdamW([W, b], { weightDecay: o.wd });
    const refW = new RefAdamW(Float64Array.from(W0), o, true);
    const refB = new RefAdamW(Float64Array.from(B0), o, false);
    for (let t = 1; t <= lrs.length; t++) {
      const grads = { [W.name]: tf.tensor(gradW(t), [2, 3]), [b.name]: tf.tensor(gradB(t), [3]) };
      opt.applyGradients(grads, lrs[t - 1]);
      tf.dispose(Object.values(grads));
      refW.step(gradW(t), lrs[t - 1]);
      refB.step(gradB(t), lrs[t - 1]);
      expectClose(W.dataSync(), refW.p);
      expectClose(b.dataSync(), refB.p);
    }
    expect(opt.step).toBe(lrs.length);
    const state = opt.getState();
    expectClose(state.m[0].dataSync(), refW.m);
    expectClose(state.v[0].dataSync(), refW.v);
    expectClose(state.m[1].dataSync(), refB.m);
    expectClose(state.v[1].dataSync(), refB.v);
    opt.dispose();
  });

  it('the reference itself: the first step moves each element by about lr against the gradient sign', () => {
    // Hand check of the formula at t = 1 without decay: m = (1−β1)g, v = (1−β2)g²,
    // m/(1−β1) = g, sqrt(v)/sqrt(1−β2) = |g|, so p −= lr · g / (|g| + eps) ≈ lr · sign(g).
    const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0 };
    const ref = new RefAdamW(Float64Array.from([1, 1]), o, false);
    ref.step([0.5, -2], 0.1);
    expect(ref.p[0]).toBeCloseTo(0.9, 7);
    expect(ref.p[1]).toBeCloseTo(1.1, 7);
  });

  it('a large epsilon and non-default betas: eps is added after the bias correction of sqrt(v)', () => {
    // With |g| ≈ 1e-3 and eps = 1e-3, where eps enters changes the result by tens of percent.
    const W = variable(W0, [2, 3], 'Weps');
    const o = { beta1: 0.8, beta2: 0.95, eps: 1e-3, wd: 0.05 };
    const opt = new AdamW([W], { beta1: o.beta1, beta2: o.beta2, epsilon: o.eps, weightDecay: o.wd });
    const ref = new RefAdamW(Float64Array.from(W0), o, true);
    for (let t = 1; t <= 4; t++) {
      const g = gradW(t).map((x) => x * 1e-3);
      const grads = { [W.name]: tf.tensor(g, [2, 3]) };
      opt.applyGradients(grads, lrs[t - 1]);
      tf.dispose(Object.values(grads));
      ref.step(g, lrs[t - 1]);
    }
    expectClose(W.dataSync(), ref.p);
    opt.dispose();
  });

  it('weight decay alone (zero gradient) scales rank-2 parameters by (1 − lr·wd) per step and leaves rank-1 ones', () => {
    const W = variable([2, -4], [1, 2], 'Wdecay');
    const b = variable([2, -4], [2], 'bdecay');
    const opt = new AdamW([W, b], { weightDecay: 0.5 });
    for (const lr of [0.1, 0.2]) {
      const grads = { [W.name]: tf.zeros([1, 2]), [b.name]: tf.zeros([2]) };
      opt.applyGradients(grads, lr);
      tf.dispose(Object.values(grads));
    }
    // (1 − 0.05)(1 − 0.1) = 0.855; m = v = 0 so the Adam part is 0 / (0 + eps) = 0.
    expectClose(W.dataSync(), [2 * 0.855, -4 * 0.855]);
    expectClose(b.dataSync(), [2, -4]);
    opt.dispose();
  });

  it('a custom decay predicate decides which variables are decayed', () => {
    const W = variable(W0, [2, 3], 'Wnodecay');
    const b = variable(B0, [3], 'bdecayed');
    const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.2 };
    const opt = new AdamW([W, b], { weightDecay: o.wd, decay: (v) => v === b });
    const refW = new RefAdamW(Float64Array.from(W0), o, false);
    const refB = new RefAdamW(Float64Array.from(B0), o, true);
    for (let t = 1; t <= 3; t++) {
      const grads = { [W.name]: tf.tensor(gradW(t), [2, 3]), [b.name]: tf.tensor(gradB(t), [3]) };
      opt.applyGradients(grads, 0.05);
      tf.dispose(Object.values(grads));
      refW.step(gradW(t), 0.05);
      refB.step(gradB(t), 0.05);
    }
    expectClose(W.dataSync(), refW.p);
    expectClose(b.dataSync(), refB.p);
    opt.dispose();
  });

  it('a variable without a gradient this step is left as it is', () => {
    const W = variable(W0, [2, 3], 'Wmissing');
    const b = variable(B0, [3], 'bmissing');
    const opt = new AdamW([W, b]);
    const grads = { [W.name]: tf.tensor(gradW(1), [2, 3]) };
    opt.applyGradients(grads, 0.01);
    tf.dispose(Object.values(grads));
    expect(Array.from(b.dataSync())).toEqual(Array.from(Float32Array.from(B0)));
    expect(Array.from(opt.getState().m[1].dataSync())).toEqual([0, 0, 0]);
    expect(W.dataSync()[0]).not.toBeCloseTo(W0[0], 4);
    opt.dispose();
  });
});

describe('AdamW state', () => {
  it('getState/setState round trip: a restored optimizer continues identically', () => {
    const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1 };
    const W = variable(W0, [2, 3], 'Wa');
    const b = variable(B0, [3], 'ba');
    const a = new AdamW([W, b], { weightDecay: o.wd });
    const step = (opt: AdamW, vs: tf.Variable[], t: number) => {
      const grads = { [vs[0].name]: tf.tensor(gradW(t), [2, 3]), [vs[1].name]: tf.tensor(gradB(t), [3]) };
      opt.applyGradients(grads, lrs[t - 1]);
      tf.dispose(Object.values(grads));
    };
    for (let t = 1; t <= 3; t++) step(a, [W, b], t);

    // Snapshot as a checkpoint would: copies of the parameters and moments, plus the step.
    const s = a.getState();
    const saved = { step: s.step, m: s.m.map((x) => x.clone()), v: s.v.map((x) => x.clone()) };
    const W2 = variable(Array.from(W.dataSync()), [2, 3], 'Wb');
    const b2 = variable(Array.from(b.dataSync()), [3], 'bb');
    const restored = new AdamW([W2, b2], { weightDecay: o.wd });
    restored.setState(saved);
    tf.dispose([...saved.m, ...saved.v]);
    expect(restored.step).toBe(3);

    for (let t = 4; t <= 6; t++) { step(a, [W, b], t); step(restored, [W2, b2], t); }
    expect(Array.from(W2.dataSync())).toEqual(Array.from(W.dataSync()));
    expect(Array.from(b2.dataSync())).toEqual(Array.from(b.dataSync()));

    // And both match the float64 reference run straight through 6 steps.
    const refW = new RefAdamW(Float64Array.from(W0), o, true);
    for (let t = 1; t <= 6; t++) refW.step(gradW(t), lrs[t - 1]);
    expectClose(W2.dataSync(), refW.p);
    a.dispose();
    restored.dispose();
  });

  it('setState copies values: later changes to the given tensors do not reach the optimizer', () => {
    const W = variable([1, 2], [1, 2], 'Wcopy');
    const opt = new AdamW([W]);
    const m = variable([0.5, 0.25], [1, 2], 'm');
    const v = variable([0.1, 0.2], [1, 2], 'v');
    opt.setState({ step: 7, m: [m], v: [v] });
    tf.tidy(() => m.assign(tf.zeros([1, 2])));
    expectClose(opt.getState().m[0].dataSync(), [0.5, 0.25]);
    expectClose(opt.getState().v[0].dataSync(), [0.1, 0.2]);
    expect(opt.step).toBe(7);
    opt.dispose();
  });

  it('applyGradients leaks no tensors: the count is the same after every step', () => {
    const W = variable(W0, [2, 3], 'Wleak');
    const b = variable(B0, [3], 'bleak');
    const grads = { [W.name]: tf.tensor(gradW(1), [2, 3]), [b.name]: tf.tensor(gradB(1), [3]) };
    const opt = new AdamW([W, b]);
    const start = tf.memory().numTensors;
    for (let t = 0; t < 3; t++) {
      opt.applyGradients(grads, 0.01);
      expect(tf.memory().numTensors).toBe(start);
    }
    opt.dispose();
    tf.dispose(Object.values(grads));
  });

  // Regression test (this was a bug, now fixed: adamw.ts, constructor): `tf.variable(tf.zerosLike(variable), false)` leaves the zerosLike
  // tensor alive (a tfjs variable shares its initial tensor's data and does not dispose it), so
  // every AdamW holds 2 unreachable tensors per variable that dispose() cannot free. Each stage of
  // a pipeline leaks them. Fix: create the moments inside tf.tidy(() => tf.variable(tf.zerosLike(v), false)).
  it('dispose() frees everything the constructor allocated (constructor leaks 2 tensors per variable)', () => {
    const W = variable(W0, [2, 3], 'Wdispose');
    const b = variable(B0, [3], 'bdispose');
    const before = tf.memory();
    const opt = new AdamW([W, b]);
    expect(tf.memory().numTensors - before.numTensors).toBe(4); // m and v for each of the 2 variables
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('rejects out-of-range options, naming the option', () => {
    expect(() => new AdamW([], { beta1: 1.5 })).toThrow(DistilleryError);
    expect(() => new AdamW([], { beta2: -0.1 })).toThrow(/beta2/);
    expect(() => new AdamW([], { weightDecay: -1 })).toThrow(/weightDecay/);
    expect(() => new AdamW([], { epsilon: Number.NaN })).toThrow(/epsilon/);
  });

  it('refuses beta1 = 1 and beta2 = 1 (a zero bias correction), with the bounds of a pipeline file', () => {
    expect(() => new AdamW([], { beta1: 1 })).toThrow('adamw options.beta1: expected a number < 1, got 1');
    expect(() => new AdamW([], { beta2: 1 })).toThrow('adamw options.beta2: expected a number < 1, got 1');
    expect(() => new AdamW([], { epsilon: 0 })).toThrow('adamw options.epsilon: expected a number > 0, got 0');
    expect(() => new AdamW([], { beta1: 0, beta2: 0.5 })).not.toThrow();
  });
});
