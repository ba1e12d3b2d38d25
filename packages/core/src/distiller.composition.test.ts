// Guards how the Distiller composes its parts: loss weights, clipping, the schedule, AdamW's decay and
// every documented default of StageConfig. Expected numbers are computed here in float64, by hand.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDistillery, selectBackend, silentLogger, type BatchSource, type StageConfig, type StepEvent } from '@distillery/core';
import { expectRel } from '@distillery/core/testing';
import { linearLoss, Probe, probeData, squareLoss } from './stage/probe.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** Runs a stage on a Probe and records, after every step, its event and the probe's w and b. */
async function record(probe: Probe, stage: Omit<StageConfig, 'name' | 'student'>) {
  const steps: { event: StepEvent; w: number[]; b: number[] }[] = [];
  const before = tf.memory().numTensors;
  const result = await createDistillery({ logger: silentLogger }).runStage({
    name: 'probe', student: probe, ...stage,
    callbacks: [...(stage.callbacks ?? []), { onStep: (event) => { steps.push({ event, ...probe.values() }); } }],
  });
  expect(tf.memory().numTensors).toBe(before);
  return { steps, result };
}

/** torch.optim.AdamW for one scalar parameter, in float64: its value after each step. */
function adamw(p0: number, grads: number[], lrs: number[], { wd = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = {}): number[] {
  let p = p0;
  let m = 0;
  let v = 0;
  return grads.map((g, i) => {
    const t = i + 1;
    p *= 1 - lrs[i] * wd;
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    p -= (lrs[i] / (1 - beta1 ** t)) * m / (Math.sqrt(v) / Math.sqrt(1 - beta2 ** t) + eps);
    return p;
  });
}

/** torch.nn.utils.clip_grad_norm_ over all gradients of one step: the factor applied to each. */
const clipFactor = (grads: number[], maxNorm: number) => Math.min(1, maxNorm / (Math.sqrt(grads.reduce((s, g) => s + g * g, 0)) + 1e-6));

describe('the weighted sum of losses', () => {
  it('reports total = Σ wᵢ·termᵢ and follows its gradient (two losses, weights 0.25 and 2)', async () => {
    const probe = new Probe([0.5, -0.25], [0.1, 0.2]);
    const { steps } = await record(probe, {
      losses: [{ use: linearLoss('lin', () => [3, -4]), weight: 0.25 }, { use: squareLoss('sq'), weight: 2 }],
      data: { train: probeData(4) }, batchSize: 4,
    });
    // Logits row z = w + b = [0.6, -0.05]. lin = 3·0.6 − 4·(−0.05) = 2; sq = 0.6² + 0.05² = 0.3625.
    const z = [0.6, -0.05];
    const lin = 3 * z[0] - 4 * z[1];
    const sq = z[0] ** 2 + z[1] ** 2;
    const { event } = steps[0];
    expectRel(event.loss, 0.25 * lin + 2 * sq, 'loss');
    expectRel(event.terms.lin, lin, 'lin');
    expectRel(event.terms['lin.value'], lin, 'lin.value');
    expectRel(event.terms.sq, sq, 'sq');
    expectRel(event.terms['sq.sq'], sq, 'sq.sq');
    // d/dz = 0.25·[3, −4] + 2·2z, the same for w and b: the norm counts it twice.
    const g = [0.25 * 3 + 4 * z[0], 0.25 * -4 + 4 * z[1]];
    expectRel(event.gradNorm, Math.sqrt(2 * (g[0] ** 2 + g[1] ** 2)), 'gradNorm');
    probe.dispose();
  });
});

describe('clipping by global norm', () => {
  // Step 1's gradient has norm 5√2 > 1 (clipped), step 2's 0.51 (not): AdamW is scale-invariant within a
  // step, so clipping shows in step 2's moments, and in the third coordinate, whose gradient is near ε.
  const c = (step: number) => (step === 1 ? [3, -4, 1e-8] : [0.3, 0.2, 1e-8]);
  const stage = (optimizer?: StageConfig['optimizer']) => ({
    // Defaults: batchSize 32 → 2 steps on 64 examples; lr 5e-5, linear, no warmup → 5e-5, 2.5e-5.
    losses: [{ use: linearLoss('lin', c) }], data: { train: probeData(64) }, ...(optimizer ? { optimizer } : {}),
  });
  const expected = (maxNorm: number | undefined) => {
    const lrs = [5e-5, 2.5e-5];
    const grads = [1, 2].map((step) => {
      const g = c(step);
      // w and b both get g: the global norm is over both.
      const factor = maxNorm === undefined ? 1 : clipFactor([...g, ...g], maxNorm);
      return g.map((x) => x * factor);
    });
    return {
      w: [0, 1, 2].map((j) => adamw(0, grads.map((g) => g[j]), lrs)),          // rank 2: decayed (wd 0.01)
      b: [0, 1, 2].map((j) => adamw(0, grads.map((g) => g[j]), lrs, { wd: 0 })), // rank 1: not decayed
    };
  };
  const check = (steps: { w: number[]; b: number[] }[], want: ReturnType<typeof expected>) => {
    for (const k of [0, 1]) {
      for (const j of [0, 1, 2]) {
        expectRel(steps[k].w[j], want.w[j][k], `w[${j}] after step ${k + 1}`);
        expectRel(steps[k].b[j], want.b[j][k], `b[${j}] after step ${k + 1}`);
      }
    }
  };

  it('with default options, the update is AdamW (betas 0.9/0.999, eps 1e-8, decay 0.01) of the gradient clipped to norm 1', async () => {
    const probe = new Probe([0, 0, 0]);
    const { steps } = await record(probe, stage());
    expect(steps).toHaveLength(2);
    expectRel(steps[0].event.gradNorm, Math.sqrt(2 * (9 + 16 + 1e-16)), 'gradNorm before clipping');
    check(steps, expected(1));
    // Clipping did change the result: the unclipped update differs by far more than the tolerance.
    expect(Math.abs(expected(undefined).w[1][1] / expected(1).w[1][1] - 1)).toBeGreaterThan(0.01);
    probe.dispose();
  });

  it('clipNorm 0 turns clipping off', async () => {
    const probe = new Probe([0, 0, 0]);
    check((await record(probe, stage({ clipNorm: 0 }))).steps, expected(undefined));
    probe.dispose();
  });

  it('clipNorm 2 clips to norm 2', async () => {
    const probe = new Probe([0, 0, 0]);
    check((await record(probe, stage({ clipNorm: 2 }))).steps, expected(2));
    probe.dispose();
  });
});

describe('the learning-rate schedule as applied', () => {
  it('warmupSteps 4 over 10 linear steps: each step moves the weights by its own rate, never a negative one', async () => {
    // A constant gradient g makes AdamW's step exactly lr·g/(|g| + ε) (bias corrections cancel): the
    // rate each step applied is read back from the weights. Hugging Face's convention, which the
    // schedule follows: step k uses the factor of k − 1, so step 1 of a warm-up moves nothing.
    const peak = 1;
    const g = [0.25, -0.5];
    const probe = new Probe([0, 0]);
    const { steps } = await record(probe, {
      losses: [{ use: linearLoss('lin', () => g) }], data: { train: probeData(10) }, batchSize: 1,
      optimizer: { learningRate: peak, warmupSteps: 4 },
    });
    const factor = [0, 1 / 4, 2 / 4, 3 / 4, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6];
    expect(steps).toHaveLength(10);
    let previous = 0;
    steps.forEach(({ event, b }, k) => {
      const applied = (previous - b[1]) / (g[1] / (Math.abs(g[1]) + 1e-8));
      previous = b[1];
      expectRel(event.learningRate, peak * factor[k], `reported lr of step ${k + 1}`);
      expectRel(applied, peak * factor[k], `applied lr of step ${k + 1}`, 1e-6);
      expect(applied).toBeGreaterThan(-1e-6);
    });
    expectRel(steps[1].event.learningRate, peak / 4, 'step 2');
    probe.dispose();
  });
});

describe("AdamW's decoupled weight decay", () => {
  it('shrinks a rank-2 parameter whose gradient is zero by lr·0.01 per step by default; rank 1 is not decayed', async () => {
    // learningRate 1 makes the decay visible in float32; everything else is default (linear, no warmup).
    const probe = new Probe([2, -3], [1, -1]);
    const { steps } = await record(probe, {
      losses: [{ use: linearLoss('zero', () => [0, 0]) }], data: { train: probeData(10) }, batchSize: 1,
      optimizer: { learningRate: 1 },
    });
    let w = [2, -3];
    steps.forEach((s, k) => {
      const lr = (10 - k) / 10;
      expectRel(s.event.learningRate, lr, `lr of step ${k + 1}`);
      w = w.map((x) => x * (1 - lr * 0.01));
      expectRel(s.w[0], w[0], `w[0] after step ${k + 1}`);
      expectRel(s.w[1], w[1], `w[1] after step ${k + 1}`);
      expect(s.b).toEqual([1, -1]);
    });
    probe.dispose();
  });
});

describe('documented defaults of StageConfig', () => {
  /** A source that records the size and the indices of every batch it makes. */
  const recording = (source: BatchSource) => {
    const batches: number[][] = [];
    return { batches, source: { size: source.size, batch: (indices: number[]) => { batches.push([...indices]); return source.batch(indices); } } };
  };

  it('batchSize 32, epochs 1, lr 5e-5 linear without warm-up, metric accuracy evaluated each epoch with the training batch size', async () => {
    const train = recording(probeData(70, 0));
    const validation = recording(probeData(40, 0));
    const probe = new Probe([1, 0]);
    const starts: { totalSteps: number; epochs: number }[] = [];
    const { steps, result } = await record(probe, {
      losses: [{ use: 'supervised' }], data: { train: train.source, validation: validation.source },
      callbacks: [{ onStageStart: (e) => { starts.push(e); } }],
    });
    expect(train.batches.map((b) => b.length)).toEqual([32, 32, 6]);
    expect(starts).toMatchObject([{ totalSteps: 3, epochs: 1 }]);
    [5e-5, 5e-5 * 2 / 3, 5e-5 / 3].forEach((lr, k) => expectRel(steps[k].event.learningRate, lr, `lr of step ${k + 1}`));
    expect(validation.batches.map((b) => b.length)).toEqual([32, 8]);
    expect(result.history).toHaveLength(1);
    expect(result.best).toMatchObject({ metric: 'accuracy', value: 1, epoch: 0, step: 3 });
    probe.dispose();
  });

  it('seed 42 orders the data', async () => {
    const order = async (seed?: number) => {
      const train = recording(probeData(20));
      const probe = new Probe([0, 0]);
      await record(probe, { losses: [{ use: linearLoss('lin', () => [1, 1]) }], data: { train: train.source }, batchSize: 5, ...(seed === undefined ? {} : { seed }) });
      probe.dispose();
      return train.batches;
    };
    const byDefault = await order();
    expect(byDefault.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await order(42)).toEqual(byDefault);
    expect(await order(43)).not.toEqual(byDefault);
  });

  it("metric 'mse' for a one-output head", async () => {
    const probe = new Probe([0.5]);
    const { result } = await record(probe, {
      losses: [{ use: 'supervised' }], data: { train: probeData(4, 0), validation: arraySourceFloat([0, 0]) }, batchSize: 4,
    });
    expect(result.best?.metric).toBe('mse');
    probe.dispose();
  });

  it('keepBest: the best evaluation\'s weights are restored when the stage ends (and not with keepBest false)', async () => {
    // The loss lowers logit 0 and raises logit 1 by lr per step in w and in b (AdamW's first steps on a
    // constant gradient): the row w + b goes [0.6, 0] → [0.4, 0.2] (class 0: accuracy 1 on labels 0)
    // → [0.2, 0.4] → [0, 0.6] (class 1: accuracy 0).
    const run = async (keepBest?: boolean) => {
      const probe = new Probe([0.3, 0], [0.3, 0]);
      const atEpoch: { w: number[]; b: number[] }[] = [];
      const { result } = await record(probe, {
        losses: [{ use: linearLoss('lin', () => [1, -1]) }], data: { train: probeData(4), validation: probeData(4, 0) },
        epochs: 3, optimizer: { learningRate: 0.1, schedule: 'constant', weightDecay: 0 },
        ...(keepBest === undefined ? {} : { evaluation: { keepBest } }),
        callbacks: [{ onEpochEnd: () => { atEpoch.push(probe.values()); } }],
      });
      const final = probe.values();
      probe.dispose();
      return { result, atEpoch, final };
    };
    const kept = await run();
    expect(kept.result.history.map((h) => h.metrics.accuracy)).toEqual([1, 0, 0]);
    expect(kept.result.best).toMatchObject({ metric: 'accuracy', value: 1, epoch: 0 });
    expect(kept.final).toEqual(kept.atEpoch[0]);
    expect(kept.final).not.toEqual(kept.atEpoch[2]);
    const notKept = await run(false);
    expect(notKept.final).toEqual(notKept.atEpoch[2]);
  });
});

/** One-token examples with float targets (a regression head). */
function arraySourceFloat(targets: number[]): BatchSource {
  return { size: targets.length, batch: (indices) => ({ ...probeData(indices.length).batch(indices.map((_, i) => i)), labels: tf.tensor1d(indices.map((i) => targets[i]), 'float32') }) };
}
