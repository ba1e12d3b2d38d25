import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FEATURES, DistilleryError, disposeBatch, selectBackend, silentLogger } from '@distillery/core';
import { Rng, decodeSafetensors } from '@distillery/core/kit';
import type { Feature } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { loadBertFromHf, saveBertToHf } from './hf-checkpoint.js';
import { flat, refBert } from './bert-reference.test.util.js';
import type { RefParams } from './bert-reference.test.util.js';
import {
  IDS, MASK, MLM_LABELS, TINY, TYPES, bf16BitsToFloat, expectClose, featureValues, floatToBf16Bits, floatToHalfBits, halfBitsToFloat, makeBatch,
  randomize, writeSafetensors,
} from './bert-fixtures.test.util.js';
import type { RawTensor } from './bert-fixtures.test.util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

let root: string;
beforeAll(async () => { root = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-hf-')); });
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

const H = TINY.hidden_size, I = TINY.intermediate_size, V = TINY.vocab_size, C = TINY.num_labels;
/** HF config.json of the tiny model, as transformers writes it. */
const hfConfig = (architectures: string[]) => ({
  architectures, model_type: 'bert', attention_probs_dropout_prob: 0.1, classifier_dropout: null,
  hidden_act: 'gelu', hidden_dropout_prob: 0.1, hidden_size: H, initializer_range: 0.02, intermediate_size: I,
  layer_norm_eps: 1e-12, max_position_embeddings: TINY.max_position_embeddings, num_attention_heads: 2,
  num_hidden_layers: 2, pad_token_id: 0, position_embedding_type: 'absolute', torch_dtype: 'float32',
  transformers_version: '4.44.2', type_vocab_size: 2, use_cache: true, vocab_size: V,
  id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 },
});

/** A PyTorch state dict of the tiny model, [out, in] kernels, written out by hand. */
function stateDict(heads: { cls?: boolean; mlm?: boolean; pooler?: boolean }, seed: number): Map<string, { shape: number[]; values: number[] }> {
  const rng = new Rng(seed);
  const sd = new Map<string, { shape: number[]; values: number[] }>();
  const put = (name: string, shape: number[], mean = 0, std = 0.3) =>
    sd.set(name, { shape, values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + std * rng.normal()) });
  const linear = (name: string, out: number, inp: number) => { put(`${name}.weight`, [out, inp]); put(`${name}.bias`, [out], 0, 0.2); };
  const norm = (name: string) => { put(`${name}.weight`, [H], 1, 0.2); put(`${name}.bias`, [H], 0, 0.2); };
  put('bert.embeddings.word_embeddings.weight', [V, H], 0, 1);
  put('bert.embeddings.position_embeddings.weight', [TINY.max_position_embeddings, H], 0, 1);
  put('bert.embeddings.token_type_embeddings.weight', [2, H], 0, 1);
  norm('bert.embeddings.LayerNorm');
  for (let l = 0; l < 2; l++) {
    const p = `bert.encoder.layer.${l}.`;
    for (const part of ['query', 'key', 'value']) linear(`${p}attention.self.${part}`, H, H);
    linear(`${p}attention.output.dense`, H, H);
    norm(`${p}attention.output.LayerNorm`);
    linear(`${p}intermediate.dense`, I, H);
    linear(`${p}output.dense`, H, I);
    norm(`${p}output.LayerNorm`);
  }
  if (heads.pooler ?? heads.cls) linear('bert.pooler.dense', H, H);
  if (heads.cls) linear('classifier', C, H);
  if (heads.mlm) {
    linear('cls.predictions.transform.dense', H, H);
    norm('cls.predictions.transform.LayerNorm');
    put('cls.predictions.bias', [V], 0, 0.2);
  }
  return sd;
}

/** The reference's parameters: the state dict's values as stored (after rounding to `dtype`), kernels transposed. */
function refParams(sd: Map<string, { shape: number[]; values: number[] }>, dtype: RawTensor['dtype'] = 'F32'): RefParams {
  const round = (x: number) => dtype === 'F16' ? halfBitsToFloat(floatToHalfBits(x))
    : dtype === 'BF16' ? bf16BitsToFloat(floatToBf16Bits(x)) : Math.fround(x);
  const kernels = /(query|key|value|dense)\.weight$|^classifier\.weight$/;
  const params: RefParams = new Map();
  for (const [name, { shape, values }] of sd) {
    const v = values.map(round);
    if (kernels.test(name)) {
      const [out, inp] = shape;
      params.set(name, { shape: [inp, out], data: Array.from({ length: v.length }, (_, k) => v[(k % out) * inp + Math.floor(k / out)]) });
    } else params.set(name, { shape, data: v });
  }
  return params;
}

async function writeCheckpoint(name: string, config: object, tensors: Record<string, RawTensor>): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  await fs.writeFile(path.join(dir, 'model.safetensors'), writeSafetensors(tensors));
  return dir;
}

const asRaw = (sd: Map<string, { shape: number[]; values: number[] }>, dtype: RawTensor['dtype'] = 'F32',
  rename: (n: string) => string = (n) => n): Record<string, RawTensor> =>
  Object.fromEntries([...sd].map(([n, t]) => [rename(n), { dtype, shape: t.shape, values: t.values }]));

/** Runs the model on the fixture batch and compares every feature it emits with the reference. */
function compareWithReference(model: BertModel, params: RefParams, tol = 1e-4): void {
  const batch = makeBatch();
  const features = new Set<Feature>(ALL_FEATURES.filter((f) => model.emits.has(f)));
  const out = model.forward(batch, features);
  const ref = refBert(params, model.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES, mlmLabels: MLM_LABELS });
  for (const f of features) {
    const value = out[f]!;
    const list = Array.isArray(value) ? value : [value];
    const refList = Array.isArray(value) ? ref[f] as unknown[] : [ref[f]];
    list.forEach((t, i) => expectClose(t.dataSync(), flat(refList[i]), `${f}[${i}]`, tol));
  }
  tf.dispose(out as tf.TensorContainer);
  disposeBatch(batch);
}

describe('loadBertFromHf', () => {
  it('loads an F32 BertForSequenceClassification checkpoint (with the position_ids buffer) like the float64 reference', async () => {
    const sd = stateDict({ cls: true }, 1);
    const tensors = asRaw(sd);
    tensors['bert.embeddings.position_ids'] = { dtype: 'I64', shape: [1, 12], values: Array.from({ length: 12 }, (_, i) => i) };
    const dir = await writeCheckpoint('cls-f32', hfConfig(['BertForSequenceClassification']), tensors);
    const model = await loadBertFromHf(dir);
    expect(model.heads).toEqual(['classification']);
    expect(model.info).toMatchObject({ numLayers: 2, hiddenSize: 16, numHeads: 2, numLabels: 3 });
    expect(model.weights.get('bert.encoder.layer.0.intermediate.dense.weight')!.shape).toEqual([H, I]);
    compareWithReference(model, refParams(sd));
    model.dispose();
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`loads a ${dtype} BertForMaskedLM checkpoint without the tied decoder weight`, async () => {
      const sd = stateDict({ mlm: true }, 2);
      const dir = await writeCheckpoint(`mlm-${dtype}`, hfConfig(['BertForMaskedLM']), asRaw(sd, dtype));
      const model = await loadBertFromHf(dir);
      expect(model.heads).toEqual(['mlm']);
      expect(model.emits.has('logits')).toBe(false);
      compareWithReference(model, refParams(sd, dtype));
      model.dispose();
    });
  }

  it('reads a sharded checkpoint through model.safetensors.index.json', async () => {
    const sd = stateDict({ cls: true }, 8);
    const names = [...sd.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const dir = path.join(root, 'sharded');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(hfConfig(['BertForSequenceClassification'])));
    const weightMap: Record<string, string> = {};
    for (const [i, part] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const raw = asRaw(new Map(part.map((n) => [n, sd.get(n)!])));
      await fs.writeFile(path.join(dir, file), writeSafetensors(raw));
      for (const n of part) weightMap[n] = file;
    }
    await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const model = await loadBertFromHf(dir);
    compareWithReference(model, refParams(sd));
    model.dispose();
  });

  it('reads names without the bert. prefix and TF-era LayerNorm gamma/beta (a bare BertModel checkpoint)', async () => {
    const sd = stateDict({ pooler: false }, 3);
    const rename = (n: string) => n.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    const dir = await writeCheckpoint('bare', hfConfig(['BertModel']), asRaw(sd, 'F32', rename));
    const model = await loadBertFromHf(dir);
    expect(model.heads).toEqual([]);
    expect([...model.emits].sort()).toEqual(['attentionProbs', 'attentionScores', 'hidden', 'keys', 'queries', 'values']);
    compareWithReference(model, refParams(sd));
    model.dispose();
  });

  it('ignores a stored tied decoder; skips (and tells of) a pretraining checkpoint\'s NSP head', async () => {
    const sd = stateDict({ mlm: true, pooler: true }, 4);
    const tensors = asRaw(sd);
    tensors['cls.predictions.decoder.weight'] = { ...tensors['bert.embeddings.word_embeddings.weight'] };
    tensors['cls.predictions.decoder.bias'] = { ...tensors['cls.predictions.bias'] };
    tensors['cls.seq_relationship.weight'] = { dtype: 'F32', shape: [2, H], values: new Array(2 * H).fill(0.1) };
    tensors['cls.seq_relationship.bias'] = { dtype: 'F32', shape: [2], values: [0, 0] };
    tensors['extra.step_counter'] = { dtype: 'F32', shape: [1], values: [3] };
    const dir2 = await writeCheckpoint('pretraining-extra', hfConfig(['BertForPreTraining']), tensors);
    await expect(loadBertFromHf(dir2)).rejects.toThrow(/unexpected 1 tensor\(s\): extra\.step_counter$/);
    const warnings: string[] = [];
    const model = await loadBertFromHf(dir2, { ignore: ['extra.'], logger: { info: () => {}, warn: (m) => warnings.push(m) } });
    expect(model.heads).toEqual(['mlm']);
    expect(warnings.join()).toMatch(/not used by bert\(2x16\): bert\.pooler\.dense\.weight, bert\.pooler\.dense\.bias, cls\.seq_relationship\.weight/);
    compareWithReference(model, refParams(sd));
    model.dispose();
  });

  it('initHeads gives a pretrained encoder a fresh classification head; config overrides num_labels', async () => {
    const sd = stateDict({ mlm: true }, 5);
    const dir = await writeCheckpoint('encoder-for-finetuning', hfConfig(['BertForMaskedLM']), asRaw(sd));
    await expect(loadBertFromHf(dir, { heads: ['classification'] }))
      .rejects.toThrow(/missing 4 tensor\(s\): bert\.pooler\.dense\.weight, bert\.pooler\.dense\.bias, classifier\.weight, classifier\.bias\n.*pass initHeads: \['classification'\]/);
    const model = await loadBertFromHf(dir, { heads: ['classification'], initHeads: ['classification'], config: { num_labels: 5 } });
    expect(model.info.numLabels).toBe(5);
    const classifier = model.weights.get('classifier.weight')!.dataSync();
    expect(classifier.some((x) => x !== 0)).toBe(true);  // drawn afresh, not left at zero
    expect(model.config.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2', 3: 'LABEL_3', 4: 'LABEL_4' });
    const words = refParams(sd).get('bert.embeddings.word_embeddings.weight')!.data;
    expect(Array.from(model.weights.get('bert.embeddings.word_embeddings.weight')!.dataSync())).toEqual(Array.from(words));
    model.dispose();
  });

  it('reports every missing, unexpected and misshapen tensor in one error', async () => {
    const sd = stateDict({ cls: true }, 6);
    const tensors = asRaw(sd);
    delete tensors['bert.encoder.layer.1.attention.self.key.weight'];
    delete tensors['classifier.bias'];
    tensors['bert.encoder.layer.1.attention.self.kee.weight'] = { dtype: 'F32', shape: [1], values: [0] };
    tensors['lm_head.weight'] = { dtype: 'F32', shape: [1], values: [0] };
    tensors['bert.encoder.layer.0.intermediate.dense.weight'] = { dtype: 'F32', shape: [H, I], values: new Array(H * I).fill(0) };
    const dir = await writeCheckpoint('broken', hfConfig(['BertForSequenceClassification']), tensors);
    const error = await loadBertFromHf(dir).then(() => undefined, (e: unknown) => e as DistilleryError);
    expect(error).toBeInstanceOf(DistilleryError);
    expect(error!.code).toBe('checkpoint');
    expect(error!.message).toContain('missing 2 tensor(s): bert.encoder.layer.1.attention.self.key.weight, classifier.bias');
    expect(error!.message).toContain('unexpected 2 tensor(s): bert.encoder.layer.1.attention.self.kee.weight, lm_head.weight');
    expect(error!.message).toContain(
      "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape [16, 24] but the config needs [24, 16]");
  });

  it('fails clearly on a missing folder, a missing weights file, another model type and an invalid config', async () => {
    await expect(loadBertFromHf(path.join(root, 'nowhere'))).rejects.toThrow(/cannot read .*nowhere\/config\.json/);
    const noWeights = path.join(root, 'no-weights');
    await fs.mkdir(noWeights, { recursive: true });
    await fs.writeFile(path.join(noWeights, 'config.json'), JSON.stringify(hfConfig(['BertModel'])));
    await fs.writeFile(path.join(noWeights, 'pytorch_model.bin'), '');
    await expect(loadBertFromHf(noWeights)).rejects.toThrow(/neither model\.safetensors nor .*pytorch_model\.bin: convert it/);
    const sd = asRaw(stateDict({ cls: true }, 7));
    const roberta = await writeCheckpoint('roberta', { ...hfConfig([]), model_type: 'roberta' }, sd);
    await expect(loadBertFromHf(roberta)).rejects.toThrow(/model_type is 'roberta', expected 'bert'/);
    const bad = await writeCheckpoint('bad-config', { ...hfConfig([]), num_attention_heads: 3 }, sd);
    await expect(loadBertFromHf(bad)).rejects.toThrow(/'hidden_size' 16 is not a multiple of 'num_attention_heads' 3/);
    await expect(loadBertFromHf(bad, { config: { num_atention_heads: 2 } as never }))
      .rejects.toThrow(/options\.config\.num_atention_heads: unknown key \(did you mean 'num_attention_heads'\?\)/);
  });
});

describe('saveBertToHf', () => {
  it('writes a Hugging Face folder in PyTorch layout that loads back with identical outputs', async () => {
    const model = new BertModel({ ...TINY, hidden_act: 'gelu_new' }, { heads: ['classification', 'mlm'] });
    randomize(model, 9);
    const dir = path.join(root, 'export');
    await model.save(dir);
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['BertForSequenceClassification', 'BertForMaskedLM'], model_type: 'bert', hidden_size: 16,
      num_hidden_layers: 2, hidden_act: 'gelu_new', id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' },
      label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 },
    });
    const file = path.join(dir, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors['bert.encoder.layer.0.intermediate.dense.weight'].shape).toEqual([I, H]);
    expect(tensors['classifier.weight'].shape).toEqual([C, H]);
    expect(tensors['cls.predictions.decoder.weight']).toBeUndefined();
    const kernel = model.weights.get('classifier.weight')!.arraySync() as number[][];
    expect(tensors['classifier.weight'].data[1 * H + 5]).toBe(kernel[5][1]);  // PyTorch [out, in] = transposed

    const loaded = await loadBertFromHf(dir);
    expect(loaded.heads).toEqual(['classification', 'mlm']);
    const batch = makeBatch();
    const all = new Set<Feature>(ALL_FEATURES);
    const [a, b] = [model, loaded].map((m) => featureValues(m, batch, all));
    expect(b).toEqual(a);
    disposeBatch(batch);
    model.dispose();
    loaded.dispose();
  });

  it('keeps other files of an existing folder (a tokenizer) and leaves no temporary files', async () => {
    const dir = path.join(root, 'with-tokenizer');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'tokenizer.json'), '{}');
    const model = new BertModel(TINY);
    await saveBertToHf(model, dir);
    await saveBertToHf(model, dir);
    expect((await fs.readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    expect((await fs.readdir(root)).filter((f) => f.includes('.tmp'))).toEqual([]);
    const again = await loadBertFromHf(dir);
    expect(again.parameterCount()).toBe(model.parameterCount());
    model.dispose();
    again.dispose();
  });
});
