import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, DistilleryError, evaluate, selectBackend, silentLogger, type Batch, type Feature,
} from '@distillery/core';
import { hardLabelLoss } from '@distillery/core/kit';
import { syntheticTask } from '@distillery/core/testing';
import { BiLstmClassifier, type BiLstmConfig } from './bilstm.js';
import { bilstm } from './bilstm-plugin.js';

const LOGITS: ReadonlySet<Feature> = new Set(['logits']);
const small: BiLstmConfig = { vocabSize: 20, numLabels: 3, embeddingSize: 6, units: 5, denseSize: 7, dropout: 0.2, seed: 9 };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-bilstm-'));

const batchOf = (ids: number[][], lengths: number[]): Batch => ({
  inputIds: tf.tensor2d(ids, undefined, 'int32'),
  attentionMask: tf.tensor2d(ids.map((row, r) => row.map((_, t) => (t < lengths[r] ? 1 : 0))), undefined, 'int32'),
});
const logitsOf = (model: BiLstmClassifier, batch: Batch, options = {}) => {
  const out = model.forward(batch, LOGITS, options).logits!;
  const values = out.arraySync() as number[][];
  out.dispose();
  return values;
};
const free = (b: Batch) => tf.dispose([b.inputIds, b.attentionMask]);

/** A float64 BiLSTM over one row's real tokens only, written from the equations (gates i, f, g, o). */
function reference(w: Map<string, number[] | number[][]>, ids: number[], units: number): number[] {
  const m = (k: string) => w.get(k) as number[][];
  const v = (k: string) => w.get(k) as number[];
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const direction = (dir: string, order: number[]) => {
    let h = new Array(units).fill(0), c = new Array(units).fill(0);
    const out: number[][] = [];
    for (const t of order) {
      const x = m('embedding')[ids[t]];
      const z = v(`${dir}/bias`).map((b, j) =>
        b + x.reduce((s, xe, e) => s + xe * m(`${dir}/kernel`)[e][j], 0) + h.reduce((s, hu, u) => s + hu * m(`${dir}/recurrent_kernel`)[u][j], 0));
      const gate = (g: number, j: number) => z[g * units + j];
      c = c.map((cj, j) => sigmoid(gate(1, j)) * cj + sigmoid(gate(0, j)) * Math.tanh(gate(2, j)));
      h = c.map((cj, j) => sigmoid(gate(3, j)) * Math.tanh(cj));
      out[t] = h;
    }
    return out;
  };
  const steps = ids.map((_, t) => t);
  const fwd = direction('forward', steps);
  const bwd = direction('backward', [...steps].reverse());
  const pooled = [...fwd[0], ...bwd[0]].map((_, j) => Math.max(...steps.map((t) => [...fwd[t], ...bwd[t]][j])));
  const dense = v('dense/bias').map((b, j) => Math.max(0, b + pooled.reduce((s, p, i) => s + p * m('dense/kernel')[i][j], 0)));
  return v('classifier/bias').map((b, j) => b + dense.reduce((s, d, i) => s + d * m('classifier/kernel')[i][j], 0));
}

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('BiLstmClassifier', () => {
  it('matches a float64 reference LSTM on each row\'s real tokens', () => {
    const model = new BiLstmClassifier(small);
    const weights = new Map([...model.namedWeights()].map(([k, t]) => [k, t.arraySync() as number[] | number[][]]));
    const ids = [[3, 7, 1, 19, 4, 2], [5, 5, 8, 12, 0, 0], [9, 14, 0, 0, 0, 0]];
    const lengths = [6, 4, 2];
    const batch = batchOf(ids, lengths);
    const got = logitsOf(model, batch);
    ids.forEach((row, r) => {
      const want = reference(weights, row.slice(0, lengths[r]), 5);
      want.forEach((x, j) => expect(Math.abs(got[r][j] - x)).toBeLessThan(1e-4));
    });
    free(batch);
    model.dispose();
  });

  it('gives a padded row the logits of the same row unpadded (both directions and the pooling ignore padding)', () => {
    const model = new BiLstmClassifier(small);
    const alone = batchOf([[4, 8, 15]], [3]);
    // Padding ids that are real words, so only the mask can hide them.
    const padded = batchOf([[4, 8, 15, 16, 7, 7, 3], [1, 2, 3, 4, 5, 6, 7]], [3, 7]);
    const a = logitsOf(model, alone)[0];
    const p = logitsOf(model, padded)[0];
    a.forEach((x, j) => expect(p[j]).toBeCloseTo(x, 5));
    free(alone); free(padded);
    model.dispose();
  });

  it('has gradients for every variable, and leaks no tensor in forward or backward', () => {
    const model = new BiLstmClassifier(small);
    const batch = batchOf([[3, 7, 1, 19], [5, 6, 0, 0]], [4, 2]);
    const labels = tf.tensor1d([2, 0], 'int32');
    logitsOf(model, batch, { training: true, seed: 1 });   // warm-up: kernels may cache on first use
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => hardLabelLoss(model.forward(batch, LOGITS, { training: true, seed: 3 }).logits!, labels)), model.trainableVariables);
    expect(Object.keys(grads).sort()).toEqual(model.trainableVariables.map((v) => v.name).sort());
    for (const [name, g] of Object.entries(grads)) {
      const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
      expect(Number.isFinite(norm), name).toBe(true);
      expect(norm, name).toBeGreaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    logitsOf(model, batch);
    expect(tf.memory().numTensors).toBe(before);
    free(batch); labels.dispose();
    model.dispose();
  });

  it('applies dropout only in training forwards with a seed, the same mask for the same seed', () => {
    const model = new BiLstmClassifier(small);
    const batch = batchOf([[3, 7, 1, 19], [5, 6, 2, 0]], [4, 3]);
    const plain = logitsOf(model, batch);
    expect(logitsOf(model, batch, { training: true })).toEqual(plain);
    const frozen = model.asTeacher().forward(batch, LOGITS, { training: true, seed: 4 }).logits!;
    expect(frozen.arraySync()).toEqual(plain);   // the teacher view never trains
    frozen.dispose();
    const a = logitsOf(model, batch, { training: true, seed: 4 });
    expect(logitsOf(model, batch, { training: true, seed: 4 })).toEqual(a);
    expect(a).not.toEqual(plain);
    expect(logitsOf(model, batch, { training: true, seed: 5 })).not.toEqual(a);
    free(batch);
    model.dispose();
  });

  it('names itself, reports its shape and fails on features it cannot emit', () => {
    const model = new BiLstmClassifier(small);
    expect(model.name).toBe('bilstm(6x5)');
    expect(model.info).toEqual({ numLayers: 1, hiddenSize: 10, numHeads: 0, vocabSize: 20, numLabels: 3 });
    expect(model.emits).toEqual(new Set(['logits']));
    expect(model.parameterCount()).toBe(20 * 6 + 2 * (6 * 20 + 5 * 20 + 20) + 10 * 7 + 7 + 7 * 3 + 3);
    const batch = batchOf([[1, 2]], [2]);
    const asks = (f: Feature) => () => model.forward(batch, new Set<Feature>(['logits', f]));
    expect(asks('hidden')).toThrow(DistilleryError);
    expect(asks('hidden')).toThrow("bilstm(6x5): cannot emit feature 'hidden' (it emits: logits)");
    expect(asks('attentionProbs')).toThrow(/attentionProbs/);
    expect(() => new BiLstmClassifier({ ...small, units: 0 })).toThrow('BiLstmClassifier config.units: expected an integer >= 1, got 0');
    free(batch);
    model.dispose();
  });

  it('saves config.json + model.safetensors and loads back to the same logits', async () => {
    const model = new BiLstmClassifier(small);
    const dir = path.join(tmp, 'saved');
    await model.save(dir);
    expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual({ model_type: 'distillery-bilstm', ...small });
    const loaded = await BiLstmClassifier.load(dir);
    const batch = batchOf([[3, 7, 1, 19], [5, 6, 2, 0]], [4, 3]);
    expect(logitsOf(loaded, batch)).toEqual(logitsOf(model, batch));
    free(batch);
    model.dispose(); loaded.dispose();

    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', ...small }));
    await expect(BiLstmClassifier.load(dir)).rejects.toThrow(/has model_type "bert", expected 'distillery-bilstm'/);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'distillery-bilstm', ...small, units: 4 }));
    await expect(BiLstmClassifier.load(dir)).rejects.toThrow(/tensor 'forward\/kernel' has shape \[6, 20\], the config gives \[6, 16\]/);
    await expect(BiLstmClassifier.load(path.join(tmp, 'nowhere'))).rejects.toThrow(/cannot read .*nowhere.*config\.json/);
  });
});

describe('bilstm student plugin', () => {
  it('trains on a synthetic task through createDistillery().runStage with the supervised loss', async () => {
    const task = { numClasses: 3, vocabSize: 30, seqLength: 8, signal: 0.35 };
    const train = syntheticTask({ ...task, size: 320, seed: 1 });
    const test = syntheticTask({ ...task, size: 200, seed: 2 });
    const options = { vocabSize: 30, numLabels: 3, embeddingSize: 16, units: 12, denseSize: 16, dropout: 0.1, seed: 5 };
    const untrained = new BiLstmClassifier(options);
    const before = evaluate(untrained, arraySource(test)).accuracy;
    untrained.dispose();
    const counts: number[] = [];
    const { student } = await createDistillery({ logger: silentLogger, plugins: [bilstm] }).runStage({
      name: 'bilstm', student: { use: 'bilstm', options }, losses: [{ use: 'supervised' }],
      data: { train: arraySource(train) }, epochs: 3, batchSize: 32, optimizer: { learningRate: 0.02 },
      callbacks: [{ onStep: () => { counts.push(tf.memory().numTensors); } }],
    });
    expect(student.name).toBe('bilstm(16x12)');
    const after = evaluate(student, arraySource(test)).accuracy;
    expect(after).toBeGreaterThan(Math.max(0.65, before + 0.25));   // 0.34 → 0.79 on cpu
    expect(new Set(counts).size).toBe(1);
    (student as BiLstmClassifier).dispose();
  });

  it('takes vocabSize and numLabels from the teacher, and fails without either', async () => {
    const env = { seed: 3, logger: silentLogger };
    const teacher = { name: 't', info: { numLayers: 2, hiddenSize: 8, numHeads: 2, vocabSize: 11, numLabels: 4 }, emits: LOGITS, forward: () => ({}) };
    const model = (await bilstm.create({ embeddingSize: 4, units: 3, denseSize: 5 }, { ...env, teacher })) as BiLstmClassifier;
    expect(model.config).toMatchObject({ vocabSize: 11, numLabels: 4, seed: 3 });
    model.dispose();
    expect(() => bilstm.create({ numLabels: 2 }, env)).toThrow(/bilstm: option 'vocabSize' is needed/);
    expect(Object.keys(bilstm.options.shape)).toContain('denseSize');
    expect(() => bilstm.create({ numLabels: 2, vocabSize: 5, dropout: 1 }, env)).toThrow('bilstm options.dropout: expected a number < 1, got 1');
  });
});
