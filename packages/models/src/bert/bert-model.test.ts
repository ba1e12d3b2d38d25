import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FEATURES, DistilleryError, disposeBatch, selectBackend, silentLogger } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import type { Feature, ModelOutputs } from '@distillery/core';
import { BertModel } from './bert-model.js';
import type { BertActivation } from './config.js';
import { flat, refBert, refErf } from './bert-reference.test.util.js';
import type { RefParams } from './bert-reference.test.util.js';
import { IDS, MASK, TINY, TYPES, expectClose, makeBatch, paramsOf, randomize } from './bert-fixtures.test.util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

/** Every feature a batch without mlmLabels can ask for. */
const ALL = new Set<Feature>(ALL_FEATURES.filter((f) => f !== 'mlmMaskedLogits'));
const PER_LAYER = ['attentionScores', 'attentionProbs', 'queries', 'keys', 'values'] as const;

/** Compares every feature of `out` with the reference, shapes first. */
function compareAll(out: ModelOutputs, model: BertModel, params: RefParams, withTypes = true): void {
  const c = model.config;
  const ref = refBert(params, c, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: withTypes ? TYPES : undefined });
  const [B, S, H, A] = [3, 7, c.hidden_size, c.num_attention_heads];
  expect(out.hidden).toHaveLength(c.num_hidden_layers + 1);
  out.hidden!.forEach((h, i) => {
    expect(h.shape).toEqual([B, S, H]);
    expectClose(h.dataSync(), flat(ref.hidden[i]), `hidden[${i}]`);
  });
  for (const f of PER_LAYER) {
    expect(out[f]).toHaveLength(c.num_hidden_layers);
    out[f]!.forEach((t, i) => {
      expect(t.shape).toEqual(f.startsWith('attention') ? [B, A, S, S] : [B, A, S, H / A]);
      expectClose(t.dataSync(), flat(ref[f][i]), `${f}[${i}]`);
    });
  }
  if (model.heads.includes('classification')) {
    expect(out.logits!.shape).toEqual([B, c.num_labels]);
    expectClose(out.logits!.dataSync(), flat(ref.logits), 'logits');
  }
  if (model.heads.includes('mlm')) {
    expect(out.mlmLogits!.shape).toEqual([B, S, c.vocab_size]);
    expectClose(out.mlmLogits!.dataSync(), flat(ref.mlmLogits), 'mlmLogits');
  }
}

describe('the float64 reference', () => {
  it('erf agrees with known values (Python math.erf) to 1e-13', () => {
    const known: [number, number][] = [
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [2, 0.9953222650189527], [2.9, 0.9999589021219005], [3.1, 0.9999883513426328], [4, 0.9999999845827421],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, y] of known) expect(Math.abs(refErf(x) - y)).toBeLessThan(1e-13);
  });
});

describe('BertModel forward', () => {
  const acts: BertActivation[] = ['gelu', 'gelu_new', 'relu'];
  for (const act of acts) {
    it(`computes every feature of both heads like the float64 reference (${act}, padding, token types)`, () => {
      const model = new BertModel({ ...TINY, hidden_act: act }, { heads: ['classification', 'mlm'] });
      randomize(model, 3);
      const batch = makeBatch();
      const out = model.forward(batch, ALL);
      compareAll(out, model, paramsOf(model));
      tf.dispose(out as tf.TensorContainer);
      disposeBatch(batch);
      model.dispose();
    });
  }

  it('mlmMaskedLogits are the rows of mlmLogits at the masked tokens (row-major), with gradients like the reference', () => {
    const model = new BertModel({ ...TINY, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, { heads: ['mlm'] });
    randomize(model, 5);
    const batch = makeBatch();
    // The fixture masks (0, 1), (0, 4), (1, 0), (1, 3); example 2 has none.
    const ref = refBert(paramsOf(model), model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES });
    const rows = [[0, 1], [0, 4], [1, 0], [1, 3]].map(([b, i]) => ref.mlmLogits![b][i]);
    const out = model.forward(batch, new Set(['mlmMaskedLogits']));
    expect(out.mlmMaskedLogits!.shape).toEqual([4, 50]);
    expectClose(out.mlmMaskedLogits!.dataSync(), rows.flat(), 'mlmMaskedLogits');
    tf.dispose(out as tf.TensorContainer);

    const rng = new Rng(3);
    const w = Array.from({ length: 4 * 50 }, () => rng.normal());
    const { grads } = tf.variableGrads(() =>
      tf.sum(tf.mul(model.forward(batch, new Set(['mlmMaskedLogits']), { training: true, seed: 1 }).mlmMaskedLogits!,
        tf.tensor(w, [4, 50]))) as tf.Scalar, model.trainableVariables);
    const params = paramsOf(model);
    const refLoss = (p: RefParams) => {
      const r = refBert(p, model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES });
      return [[0, 1], [0, 4], [1, 0], [1, 3]].flatMap(([b, i]) => r.mlmLogits![b][i]).reduce((acc, x, k) => acc + x * w[k], 0);
    };
    const direction = new Map([...params].map(([n, p]) => [n, Array.from(p.data, () => rng.normal())]));
    direction.get('bert.embeddings.word_embeddings.weight')!.fill(0, 0, 16);
    const shifted = (eps: number): RefParams => new Map([...params].map(([n, p]) =>
      [n, { shape: p.shape, data: Array.from(p.data, (x, i) => x + eps * direction.get(n)![i]) }]));
    const numeric = (refLoss(shifted(1e-5)) - refLoss(shifted(-1e-5))) / 2e-5;
    let analytic = 0;
    for (const [name, v] of model.weights) {
      const g = grads[v.name].dataSync(), dir = direction.get(name)!;
      for (let i = 0; i < g.length; i++) analytic += g[i] * dir[i];
    }
    expect(Math.abs(analytic - numeric) / Math.abs(numeric)).toBeLessThan(1e-3);
    tf.dispose(Object.values(grads));

    const none = { ...batch, mlmLabels: undefined };
    expect(() => model.forward(none, new Set(['mlmMaskedLogits']))).toThrow(/'mlmMaskedLogits' needs the batch's mlmLabels/);
    disposeBatch(batch);
    model.dispose();
  });

  it('without tokenTypeIds uses segment 0 everywhere; a regression head has one output', () => {
    const model = new BertModel({ ...TINY, num_labels: 1 });
    randomize(model, 4);
    const batch = makeBatch(false);
    const out = model.forward(batch, new Set([...ALL].filter((f) => f !== 'mlmLogits')));
    compareAll(out, model, paramsOf(model), false);
    expect(out.logits!.shape).toEqual([3, 1]);
    tf.dispose(out as tf.TensorContainer);
    disposeBatch(batch);
    model.dispose();
  });

  it("'gelu_pytorch_tanh' is 'gelu_new' under its newer HF name", () => {
    const a = new BertModel({ ...TINY, hidden_act: 'gelu_new' }, { seed: 5 });
    const b = new BertModel({ ...TINY, hidden_act: 'gelu_pytorch_tanh' }, { seed: 5 });
    const batch = makeBatch();
    const [x, y] = [a, b].map((m) => m.forward(batch, new Set(['logits'])).logits!);
    expect(Array.from(x.dataSync())).toEqual(Array.from(y.dataSync()));
    tf.dispose([x, y]);
    disposeBatch(batch);
    a.dispose(); b.dispose();
  });

  it('returns only the requested features and keeps nothing else alive', () => {
    const model = new BertModel(TINY, { heads: ['classification', 'mlm'] });
    const batch = makeBatch();
    const cases: [Feature[], number][] = [
      [['hidden'], 3], [['attentionProbs', 'values'], 4], [['logits'], 1], [['mlmLogits', 'queries'], 3], [[], 0],
    ];
    for (const [features, tensors] of cases) {
      const before = tf.memory().numTensors;
      const out = model.forward(batch, new Set(features));
      expect(Object.keys(out).sort()).toEqual([...features].sort());
      expect(tf.memory().numTensors - before).toBe(tensors);
      tf.dispose(out as tf.TensorContainer);
      expect(tf.memory().numTensors).toBe(before);
    }
    disposeBatch(batch);
    model.dispose();
  });

  it('asking for a feature the model cannot emit fails naming the model and the feature', () => {
    const cls = new BertModel(TINY, { heads: ['classification'] });
    const mlm = new BertModel(TINY, { heads: ['mlm'] });
    const batch = makeBatch();
    const attempt = (m: BertModel, f: string) => {
      try { m.forward(batch, new Set([f as Feature])); } catch (e) { return e as DistilleryError; }
      throw new Error('did not throw');
    };
    const e1 = attempt(cls, 'mlmLogits');
    expect(e1).toBeInstanceOf(DistilleryError);
    expect(e1.code).toBe('feature');
    expect(e1.message).toMatch(/bert\(2x16\).*'mlmLogits'.*no masked-LM head/);
    expect(attempt(mlm, 'logits').message).toMatch(/bert\(2x16\).*'logits'.*no sequence-classification head/);
    expect(attempt(mlm, 'attention').message).toMatch(/unknown feature 'attention'/);
    expect([...cls.emits]).not.toContain('mlmLogits');
    expect([...mlm.emits]).toContain('mlmLogits');
    disposeBatch(batch);
    cls.dispose(); mlm.dispose();
  });

  it('rejects batches that do not fit: mask shape, sequence longer than max_position_embeddings', () => {
    const model = new BertModel(TINY);
    const ids = tf.zeros([2, 13], 'int32') as tf.Tensor2D;
    const mask = tf.ones([2, 12], 'int32') as tf.Tensor2D;
    expect(() => model.forward({ inputIds: ids, attentionMask: mask }, new Set(['logits'])))
      .toThrow(/batch.attentionMask \[2, 12\] does not match batch.inputIds \[2, 13\]/);
    const mask13 = tf.ones([2, 13], 'int32') as tf.Tensor2D;
    expect(() => model.forward({ inputIds: ids, attentionMask: mask13 }, new Set(['logits'])))
      .toThrow(/sequence length 13 exceeds max_position_embeddings 12/);
    tf.dispose([ids, mask, mask13]);
    model.dispose();
  });

  it('rejects ids outside the embedding tables, naming the field, the value and the config key', () => {
    const model = new BertModel(TINY);
    const mask = tf.ones([2, 3], 'int32') as tf.Tensor2D;
    const attempt = (ids: number[][], types?: number[][]) => {
      const batch = {
        inputIds: tf.tensor2d(ids, undefined, 'int32'), attentionMask: mask,
        tokenTypeIds: types ? tf.tensor2d(types, undefined, 'int32') : undefined,
      };
      try {
        model.forward(batch, new Set(['logits'])).logits!.dispose();
        return undefined;
      } catch (error) {
        return error as DistilleryError;
      } finally {
        tf.dispose([batch.inputIds, ...(batch.tokenTypeIds ? [batch.tokenTypeIds] : [])]);
      }
    };
    const before = tf.memory().numTensors;
    const big = attempt([[2, 7, 9], [2, 50, 3]]);
    expect(big).toBeInstanceOf(DistilleryError);
    expect(big!.code).toBe('data');
    expect(big!.message).toBe('bert(2x16): batch.inputIds holds 50 at [1, 1], outside 0..49 (config vocab_size 50)');
    expect(attempt([[2, -1, 9], [2, 5, 3]])!.message).toMatch(/batch\.inputIds holds -1 at \[0, 1\].*vocab_size 50/);
    expect(attempt([[2, 7, 9], [2, 5, 3]], [[0, 1, 2], [0, 0, 0]])!.message)
      .toBe('bert(2x16): batch.tokenTypeIds holds 2 at [0, 2], outside 0..1 (config type_vocab_size 2)');
    expect(attempt([[2, 7, 9], [2, 5, 3]], [[0, -3, 1], [0, 0, 0]])!.message).toMatch(/batch\.tokenTypeIds holds -3 .*type_vocab_size 2/);
    // The largest valid ids pass, also through the teacher view.
    expect(attempt([[0, 49, 9], [2, 5, 3]], [[0, 1, 1], [0, 0, 0]])).toBeUndefined();
    const teacher = model.asTeacher();
    const ids = tf.tensor2d([[2, 7, 9], [2, 51, 3]], undefined, 'int32') as tf.Tensor2D;
    expect(() => teacher.forward({ inputIds: ids, attentionMask: mask }, new Set(['logits']))).toThrow(/batch\.inputIds holds 51.*vocab_size/);
    ids.dispose();
    expect(tf.memory().numTensors).toBe(before);
    mask.dispose();
    model.dispose();
  });
});

describe('BertModel training', () => {
  it('a loss on logits gives every trainable variable a non-zero gradient, and no tensor leaks', () => {
    const model = new BertModel(TINY);
    randomize(model, 6);
    const batch = makeBatch();
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(batch, new Set(['logits']), { training: true, seed: 3 });
        return tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels!, 3), out.logits!) as tf.Scalar;
      }, model.trainableVariables);
      return { value, grads };
    };
    tf.dispose(Object.values(step().grads)); // warm-up: kernels may cache on first use
    const before = tf.memory().numTensors;
    const { value, grads } = step();
    for (const [name, v] of model.weights) {
      const g = grads[v.name];
      expect(g, `gradient of ${name}`).toBeDefined();
      expect(g.shape).toEqual(v.shape);
      expect(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]), `|grad| of ${name}`).toBeGreaterThan(0);
    }
    // As PyTorch's padding_idx: the padding row (id 0, in the batch) gets no gradient; a used row does.
    const words = grads[model.weights.get('bert.embeddings.word_embeddings.weight')!.name].arraySync() as number[][];
    expect(words[0].every((g) => g === 0)).toBe(true);
    expect(words[7].some((g) => g !== 0)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    model.dispose();
  });

  it('gradients of both heads match central differences of the float64 reference', () => {
    const model = new BertModel({ ...TINY, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 },
      { heads: ['classification', 'mlm'] });
    randomize(model, 7);
    const batch = makeBatch();
    const rng = new Rng(11);
    const wLogits = Array.from({ length: 3 * 3 }, () => rng.normal());
    const wMlm = Array.from({ length: 3 * 7 * 50 }, () => rng.normal() * 0.1);
    // loss = Σ logits·wLogits + Σ mlmLogits·wMlm, so every output contributes
    const { grads } = tf.variableGrads(() => {
      const out = model.forward(batch, new Set(['logits', 'mlmLogits']), { training: true, seed: 1 });
      return tf.add(tf.sum(tf.mul(out.logits!, tf.tensor(wLogits, [3, 3]))),
        tf.sum(tf.mul(out.mlmLogits!, tf.tensor(wMlm, [3, 7, 50])))) as tf.Scalar;
    }, model.trainableVariables);
    const params = paramsOf(model);
    const refLoss = (p: RefParams) => {
      const r = refBert(p, model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES });
      const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
      return dot(flat(r.logits), wLogits) + dot(flat(r.mlmLogits), wMlm);
    };
    // The directional derivative along a random direction touching every parameter.
    const direction = new Map([...params].map(([n, p]) => [n, Array.from(p.data, () => rng.normal())]));
    // The padding row (id 0) takes no gradient through the lookup, by design (PyTorch's padding_idx): leave it still.
    direction.get('bert.embeddings.word_embeddings.weight')!.fill(0, 0, 16);
    const shifted = (eps: number): RefParams => new Map([...params].map(([n, p]) =>
      [n, { shape: p.shape, data: Array.from(p.data, (x, i) => x + eps * direction.get(n)![i]) }]));
    const eps = 1e-5;
    const numeric = (refLoss(shifted(eps)) - refLoss(shifted(-eps))) / (2 * eps);
    let analytic = 0;
    for (const [name, v] of model.weights) {
      const g = grads[v.name].dataSync();
      const dir = direction.get(name)!;
      for (let i = 0; i < g.length; i++) analytic += g[i] * dir[i];
    }
    expect(Math.abs(analytic - numeric) / Math.abs(numeric)).toBeLessThan(1e-3);
    tf.dispose(Object.values(grads));
    disposeBatch(batch);
    model.dispose();
  });

  it('dropout runs only when training, and a seed repeats it exactly', () => {
    const model = new BertModel(TINY, { heads: ['classification', 'mlm'] });
    randomize(model, 8);
    const batch = makeBatch();
    const run = (options: { training?: boolean; seed?: number }) => tf.tidy(() => {
      const out = model.forward(batch, new Set(['logits', 'hidden', 'attentionProbs', 'mlmLogits']), options);
      return [...out.logits!.dataSync(), ...flat(out.hidden!.map((h) => Array.from(h.dataSync()))),
        ...out.mlmLogits!.dataSync()];
    });
    const evalA = run({}), evalB = run({ training: false, seed: 9 });
    expect(evalB).toEqual(evalA);
    const params = paramsOf(model);
    const ref = refBert(params, model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES });
    expectClose(evalA.slice(0, 9), flat(ref.logits), 'eval logits');
    const trainA = run({ training: true, seed: 7 }), trainB = run({ training: true, seed: 7 });
    expect(trainB).toEqual(trainA);
    expect(trainA).not.toEqual(evalA);
    expect(run({ training: true, seed: 8 })).not.toEqual(trainA);
    // Without a seed, each training call draws new masks from the model's own seeded stream.
    expect(run({ training: true })).not.toEqual(run({ training: true }));
    model.dispose();

    // Attention-probability dropout alone also changes the output.
    const attnOnly = new BertModel({ ...TINY, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0.5 });
    randomize(attnOnly, 8);
    const logits = (training: boolean) => tf.tidy(() =>
      Array.from(attnOnly.forward(batch, new Set(['logits']), { training, seed: 1 }).logits!.dataSync()));
    expect(logits(true)).not.toEqual(logits(false));
    attnOnly.dispose();
    disposeBatch(batch);
  });
});

describe('BertModel shape and weights', () => {
  let model: BertModel;
  beforeAll(() => { model = new BertModel(TINY, { heads: ['classification', 'mlm'] }); });
  afterAll(() => model.dispose());

  it('names, info and the parameter count follow the config', () => {
    expect(model.name).toBe('bert(2x16)');
    expect(model.info).toEqual({ numLayers: 2, hiddenSize: 16, numHeads: 2, vocabSize: 50, numLabels: 3, intermediateSize: 24 });
    const { vocab_size: V, hidden_size: H, intermediate_size: I, max_position_embeddings: P, type_vocab_size: T } = TINY;
    const embeddings = (V + P + T) * H + 2 * H;
    const layer = 4 * (H * H + H) + (H * I + I) + (I * H + H) + 4 * H;
    const heads = (H * H + H) + (H * 3 + 3) + (H * H + H) + 2 * H + V;
    expect(model.parameterCount()).toBe(embeddings + 2 * layer + heads);
    expect(model.trainableVariables).toHaveLength(model.weights.size);
  });

  it('weights are keyed by Hugging Face names, kernels in [in, out] layout, variables uniquely named', () => {
    const shape = (n: string) => model.weights.get(n)?.shape;
    expect(shape('bert.embeddings.word_embeddings.weight')).toEqual([50, 16]);
    expect(shape('bert.encoder.layer.1.attention.self.query.weight')).toEqual([16, 16]);
    expect(shape('bert.encoder.layer.0.intermediate.dense.weight')).toEqual([16, 24]);
    expect(shape('bert.encoder.layer.0.output.dense.weight')).toEqual([24, 16]);
    expect(shape('bert.encoder.layer.0.output.LayerNorm.bias')).toEqual([16]);
    expect(shape('bert.pooler.dense.bias')).toEqual([16]);
    expect(shape('classifier.weight')).toEqual([16, 3]);
    expect(shape('cls.predictions.transform.dense.weight')).toEqual([16, 16]);
    expect(shape('cls.predictions.bias')).toEqual([50]);
    expect(model.weights.has('cls.predictions.decoder.weight')).toBe(false);
    const other = new BertModel(TINY, { heads: ['classification', 'mlm'] });
    const names = new Set([...model.trainableVariables, ...other.trainableVariables].map((v) => v.name));
    expect(names.size).toBe(2 * model.trainableVariables.length);
    other.dispose();
  });

  it('initialises as HF does: normal(0, initializer_range), zero biases, unit LayerNorm, zero padding row', () => {
    const words = model.weights.get('bert.embeddings.word_embeddings.weight')!.dataSync();
    expect(Array.from(words.slice(0, 16))).toEqual(new Array(16).fill(0));
    const q = Array.from(model.weights.get('bert.encoder.layer.0.attention.self.query.weight')!.dataSync());
    const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    expect(new Set(model.weights.get('bert.encoder.layer.0.attention.self.query.bias')!.dataSync())).toEqual(new Set([0]));
    expect(new Set(model.weights.get('bert.embeddings.LayerNorm.weight')!.dataSync())).toEqual(new Set([1]));
    // The same seed gives the same weights.
    const again = new BertModel(TINY, { heads: ['classification', 'mlm'] });
    expect(Array.from(again.weights.get('classifier.weight')!.dataSync()))
      .toEqual(Array.from(model.weights.get('classifier.weight')!.dataSync()));
    again.dispose();
    // initialize: false leaves zeros (for weights about to be overwritten); resetWeights draws the same values.
    const blank = new BertModel(TINY, { heads: ['classification', 'mlm'], initialize: false });
    expect(new Set(blank.weights.get('classifier.weight')!.dataSync())).toEqual(new Set([0]));
    blank.resetWeights(['classifier.weight', 'bert.embeddings.LayerNorm.weight']);
    expect(Array.from(blank.weights.get('classifier.weight')!.dataSync()))
      .toEqual(Array.from(model.weights.get('classifier.weight')!.dataSync()));
    expect(new Set(blank.weights.get('bert.embeddings.LayerNorm.weight')!.dataSync())).toEqual(new Set([1]));
    blank.dispose();
  });

  it('asTeacher() is a frozen view: inference mode, no variables, unwrappable to the model', () => {
    const view = model.asTeacher();
    expect('trainableVariables' in view).toBe(false);
    expect(view.name).toBe(model.name);
    expect(BertModel.unwrap(view)).toBe(model);
    const batch = makeBatch();
    const a = view.forward(batch, new Set(['logits']));
    const b = model.forward(batch, new Set(['logits']), { training: false });
    expect(Array.from(a.logits!.dataSync())).toEqual(Array.from(b.logits!.dataSync()));
    tf.dispose([a.logits!, b.logits!]);
    disposeBatch(batch);
  });
});

describe('BertConfig validation', () => {
  const fails = (config: object, message: RegExp) => {
    expect(() => new BertModel(config)).toThrow(message);
    try { new BertModel(config); } catch (e) { expect((e as DistilleryError).code).toBe('config'); }
  };
  it('names the offending key and value', () => {
    fails({ ...TINY, hidden_size: 30, num_attention_heads: 4 }, /'hidden_size' 30 is not a multiple of 'num_attention_heads' 4/);
    fails({ ...TINY, hiden_size: 16 }, /^bert config\.hiden_size: unknown key \(did you mean 'hidden_size'\?\); allowed: vocab_size, /);
    fails({ ...TINY, hidden_act: 'swish' }, /^bert config\.hidden_act: expected one of "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", got "swish"$/);
    fails({ ...TINY, hidden_dropout_prob: 1.5 }, /^bert config\.hidden_dropout_prob: expected a number < 1, got 1\.5$/);
    fails({ ...TINY, hidden_dropout_prob: 1 }, /^bert config\.hidden_dropout_prob: expected a number < 1, got 1$/);
    fails({ ...TINY, num_hidden_layers: 0 }, /^bert config\.num_hidden_layers: expected an integer >= 1, got 0$/);
    fails({ ...TINY, vocab_size: 2.5 }, /^bert config\.vocab_size: expected an integer, got 2\.5$/);
    fails({ ...TINY, position_embedding_type: 'relative_key' }, /^bert config\.position_embedding_type: expected "absolute", got "relative_key"$/);
    fails({ ...TINY, num_labels: 3, id2label: { 0: 'a', 1: 'b' } }, /'num_labels' 3 disagrees with 'id2label', which names 2 labels/);
    fails({ ...TINY, pad_token_id: 50 }, /'pad_token_id' 50 is not below 'vocab_size' 50/);
    expect(() => new BertModel(TINY, { heads: ['ner' as never] })).toThrow(/unknown head "ner"/);
  });

  it("fills Hugging Face's defaults; num_labels follows id2label", () => {
    const m = new BertModel({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2,
      intermediate_size: 8, id2label: { 0: 'neg', 1: 'neu', 2: 'pos' } });
    expect(m.config).toMatchObject({
      hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12,
      hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, initializer_range: 0.02, num_labels: 3,
    });
    expect(m.heads).toEqual(['classification']);
    m.dispose();
    const fromArch = new BertModel({ ...TINY, architectures: ['BertForMaskedLM'] });
    expect(fromArch.heads).toEqual(['mlm']);
    fromArch.dispose();
  });
});
