import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FEATURES, DistilleryError, disposeBatch, selectBackend, silentLogger } from '@distillery/core';
import type { Feature } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { initFromTeacher } from './init-from-teacher.js';
import { flat, refBert } from './bert-reference.test.util.js';
import { IDS, MASK, TINY, TYPES, expectClose, featureValues, makeBatch, paramsOf, randomize } from './bert-fixtures.test.util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

const values = (m: BertModel, name: string) => Array.from(m.weights.get(name)!.dataSync());
const ALL = new Set<Feature>(ALL_FEATURES);

describe('students built from a config', () => {
  it('a shallower, narrower student with fewer heads runs and matches the float64 reference', () => {
    const student = new BertModel({ ...TINY, num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 1, intermediate_size: 12 },
      { heads: ['classification', 'mlm'], seed: 3 });
    expect(student.name).toBe('bert(1x8)');
    expect(student.info).toEqual({ numLayers: 1, hiddenSize: 8, numHeads: 1, vocabSize: 50, numLabels: 3, intermediateSize: 12 });
    randomize(student, 2);
    const batch = makeBatch();
    const out = student.forward(batch, ALL);
    const ref = refBert(paramsOf(student), student.config, { inputIds: IDS, attentionMask: MASK, tokenTypeIds: TYPES });
    expectClose(out.hidden![1].dataSync(), flat(ref.hidden[1]), 'hidden[1]');
    expectClose(out.attentionScores![0].dataSync(), flat(ref.attentionScores[0]), 'attentionScores[0]');
    expectClose(out.logits!.dataSync(), flat(ref.logits), 'logits');
    expectClose(out.mlmLogits!.dataSync(), flat(ref.mlmLogits), 'mlmLogits');
    tf.dispose(out as tf.TensorContainer);
    disposeBatch(batch);
    student.dispose();
  });
});

describe('initFromTeacher', () => {
  let teacher: BertModel;
  beforeAll(() => {
    teacher = new BertModel({ ...TINY, num_hidden_layers: 4 }, { heads: ['classification', 'mlm'], seed: 1 });
    randomize(teacher, 5);
  });
  afterAll(() => teacher.dispose());

  it('copies the embeddings, the chosen layers in order, and the heads (DistilBERT)', () => {
    const student = initFromTeacher(teacher, { layers: [0, 2] });
    expect(student.name).toBe('bert(2x16)');
    expect(student.heads).toEqual(['classification', 'mlm']);
    for (const name of student.weights.keys()) {
      const m = /^bert\.encoder\.layer\.(\d+)\.(.*)$/.exec(name);
      const from = m ? `bert.encoder.layer.${[0, 2][Number(m[1])]}.${m[2]}` : name;
      expect(values(student, name), `${name} ← ${from}`).toEqual(values(teacher, from));
    }
    const perLayer = [...teacher.weights].filter(([n]) => n.startsWith('bert.encoder.layer.0.')).reduce((s, [, v]) => s + v.size, 0);
    expect(student.parameterCount()).toBe(teacher.parameterCount() - 2 * perLayer);
    student.dispose();
  });

  it('taking every layer reproduces the teacher exactly; the student trains independently of it', () => {
    const student = initFromTeacher(teacher.asTeacher(), { layers: [0, 1, 2, 3] });
    const batch = makeBatch();
    const [a, b] = [teacher, student].map((m) => featureValues(m, batch, ALL));
    expect(b).toEqual(a);
    const name = 'bert.encoder.layer.1.attention.self.query.weight';
    const before = values(teacher, name);
    tf.tidy(() => student.weights.get(name)!.assign(tf.zerosLike(student.weights.get(name)!)));
    expect(values(teacher, name)).toEqual(before);
    disposeBatch(batch);
    student.dispose();
  });

  it('overrides: dropout changes, a new label count re-initialises only the classifier, heads may differ', () => {
    const student = initFromTeacher(teacher, {
      layers: [3], config: { hidden_dropout_prob: 0, num_labels: 2 }, heads: ['classification'], seed: 9,
    });
    expect(student.config.hidden_dropout_prob).toBe(0);
    expect(student.info.numLabels).toBe(2);
    expect(student.weights.get('classifier.weight')!.shape).toEqual([16, 2]);
    expect(student.weights.get('classifier.weight')!.dataSync().some((x) => x !== 0)).toBe(true);
    expect(values(student, 'bert.pooler.dense.weight')).toEqual(values(teacher, 'bert.pooler.dense.weight'));
    expect(values(student, 'bert.encoder.layer.0.output.dense.weight'))
      .toEqual(values(teacher, 'bert.encoder.layer.3.output.dense.weight'));
    expect(student.emits.has('mlmLogits')).toBe(false);
    student.dispose();
  });

  it('fails clearly: different hidden sizes, layer out of range, no layers, not a BERT teacher', () => {
    const fail = (f: () => unknown) => { try { f(); } catch (e) { return e as DistilleryError; } throw new Error('no error'); };
    const narrow = fail(() => initFromTeacher(teacher, { layers: [0], config: { hidden_size: 8 } }));
    expect(narrow).toBeInstanceOf(DistilleryError);
    expect(narrow.message).toMatch(/student hidden_size 8 differs from teacher bert\(4x16\)'s hidden_size 16/);
    expect(fail(() => initFromTeacher(teacher, { layers: [0, 4] })).message)
      .toMatch(/layer index 4 is out of range: teacher bert\(4x16\) has 4 layers \(0\.\.3\)/);
    expect(fail(() => initFromTeacher(teacher, { layers: [-1] })).message).toMatch(/layer index -1 is out of range/);
    expect(fail(() => initFromTeacher(teacher, { layers: [] })).message).toMatch(/'layers' must be a non-empty list/);
    expect(fail(() => initFromTeacher(teacher, { layers: [0], config: { num_hidden_layers: 2 } })).message)
      .toMatch(/'num_hidden_layers' 2 disagrees with the 1 layers chosen/);
    expect(fail(() => initFromTeacher(teacher, { layers: [0], config: { max_position_embeddings: 8 } })).message)
      .toMatch(/'bert\.embeddings\.position_embeddings\.weight' has shape \[12, 16\] but the student's .* has \[8, 16\]/);
    const other = { name: 'mlp(8)', info: teacher.info, emits: teacher.emits, forward: () => ({}) };
    expect(fail(() => initFromTeacher(other, { layers: [0] })).message).toMatch(/the teacher mlp\(8\) is not a BERT model/);
  });
});
