// describe() must tell exactly what create() builds (one source of truth), and resize() must give
// options that build a model of the asked sizes.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger, type ModelDescription, type ModelEnv, type Teacher } from '@distillery/core';
import { thrown } from '@distillery/core/testing';
import { BiLstmClassifier } from '../bilstm.js';
import { bilstm } from '../bilstm-plugin.js';
import { BertModel } from './bert-model.js';
import type { BertStudentOptions } from './plugins.js';
import { bertStudent, bertTeacher } from './plugins.js';
import { TINY } from './bert-fixtures.test.util.js';

let root: string;
beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-describe-'));
});
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

const env = (teacher?: Teacher): ModelEnv => ({ teacher, seed: 3, logger: silentLogger });
const describeStudent = (options: BertStudentOptions, teacher?: ModelDescription) => bertStudent.describe!(options, { teacher });

/** What a built model says about itself, in a description's terms. */
const told = (m: BertModel): ModelDescription => ({
  info: m.info, emits: m.emits, config: { ...m.config }, heads: m.heads,
  maxLength: m.config.max_position_embeddings,
});

describe("the 'bert' plugins' describe()", () => {
  it('tells what create() builds: from a config, with heads given or from architectures', async () => {
    for (const options of [
      { config: TINY },
      { config: { ...TINY, num_hidden_layers: 1 }, heads: ['mlm'] },
      { config: { ...TINY, architectures: ['BertForMaskedLM', 'BertForSequenceClassification'] } },
      { config: { ...TINY, num_labels: undefined, id2label: { 0: 'neg', 1: 'pos' } }, heads: [] },
    ] as BertStudentOptions[]) {
      const model = await bertStudent.create(options, env()) as BertModel;
      expect(describeStudent(options)).toEqual(told(model));
      expect(bertTeacher.describe!(options, {})).toEqual(told(model));
      model.dispose();
    }
    // Without a classification head there are no labels to tell.
    expect(describeStudent({ config: TINY, heads: ['mlm'] })!.info.numLabels).toBeUndefined();
  });

  it('tells what a checkpoint holds, with config overrides over its config.json (a new num_labels drops its label names)', async () => {
    const source = new BertModel({ ...TINY, id2label: { 0: 'a', 1: 'b', 2: 'c' } }, { heads: ['classification', 'mlm'], seed: 7 });
    const dir = path.join(root, 'ckpt');
    await source.save(dir);
    for (const options of [
      { checkpoint: dir },
      { checkpoint: dir, config: { hidden_dropout_prob: 0, layer_norm_eps: 1e-6 } },
      { checkpoint: dir, heads: ['mlm'] },
    ] as BertStudentOptions[]) {
      const model = await bertStudent.create({ ...options, initHeads: ['classification'] }, env()) as BertModel;
      expect(describeStudent(options)).toEqual(told(model));
      model.dispose();
    }
    expect(describeStudent({ checkpoint: dir, config: { num_labels: 2 } })!.config!.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1' });
    source.dispose();
  });

  it("tells what initFromTeacher copies, from the teacher's description; nothing when the teacher is not a described BERT", async () => {
    const teacherOptions = { config: { ...TINY, num_hidden_layers: 4 }, heads: ['classification', 'mlm'] } as BertStudentOptions;
    const teacher = await bertTeacher.create(teacherOptions, env());
    const described = bertTeacher.describe!(teacherOptions, {})!;
    for (const options of [
      { initFromTeacher: { layers: [0, 3] } },
      { initFromTeacher: { layers: [1] }, config: { num_labels: 2, attention_probs_dropout_prob: 0 }, heads: ['classification'] },
    ] as BertStudentOptions[]) {
      const model = await bertStudent.create(options, env(teacher)) as BertModel;
      expect(describeStudent(options, described)).toEqual(told(model));
      model.dispose();
    }
    BertModel.unwrap(teacher)!.dispose();
    const other: ModelDescription = { info: { numLayers: 4, hiddenSize: 16, numHeads: 2 }, emits: new Set(['logits']) };
    expect(describeStudent({ initFromTeacher: { layers: [0] } }, other)).toBeUndefined();
    expect(describeStudent({ initFromTeacher: { layers: [0] } })).toBeUndefined();
  });

  it('fails with the option it is about: config keys and values, a checkpoint folder, teacher layers', () => {
    const at = (f: () => unknown) => {
      const error = thrown(f) as DistilleryError;
      expect(error).toBeInstanceOf(DistilleryError);
      return [error.option, error.message];
    };
    // describe() gets its options through the plugin's schema, as create() does: a bad key or value names its path.
    expect(at(() => describeStudent({ config: { ...TINY, num_hidden_layers: 0 } })))
      .toEqual([['config', 'num_hidden_layers'], 'bert options.config.num_hidden_layers: expected an integer >= 1, got 0']);
    expect(at(() => describeStudent({ config: { ...TINY, hidden_size: 9 } })))
      .toEqual([['config'], "bert: 'hidden_size' 9 is not a multiple of 'num_attention_heads' 2"]);
    expect(at(() => describeStudent({ config: { ...TINY, hiden_size: 8 } as never }))[0]).toEqual(['config', 'hiden_size']);
    expect(at(() => describeStudent({ config: 'big' as never })))
      .toEqual([['config'], 'bert options.config: expected an object, got "big"']);
    const missing = path.join(root, 'nothing-here');
    expect(at(() => describeStudent({ checkpoint: missing })))
      .toEqual([['checkpoint'], `bert: option 'checkpoint': no config.json in ${missing} (expected a Hugging Face model folder)`]);
    const teacher = bertTeacher.describe!({ config: TINY }, {});
    expect(at(() => describeStudent({ initFromTeacher: { layers: [0, 2] } }, teacher)))
      .toEqual([['initFromTeacher', 'layers', 1],
        "bert: option 'initFromTeacher.layers[1]': expected a teacher layer index in 0..1 (the teacher has 2 layers), got 2"]);
  });
});

describe("the 'bert' plugins' resize()", () => {
  const shape = { numLayers: 3, hiddenSize: 8, numHeads: 4, intermediateSize: 20 };

  it('keeps a plain config (and given heads), with the sizes over it; the result builds a model of those sizes', async () => {
    const options: BertStudentOptions = { config: { ...TINY, hidden_dropout_prob: 0 }, heads: ['mlm'], seed: 5, initHeads: [] };
    const resized = bertStudent.resize!(options, shape, {});
    expect(resized).toEqual({
      config: { ...TINY, hidden_dropout_prob: 0, num_hidden_layers: 3, hidden_size: 8, num_attention_heads: 4, intermediate_size: 20 },
      heads: ['mlm'],
    });
    const model = await bertStudent.create(resized, env()) as BertModel;
    expect([model.name, model.info.numHeads, model.config.intermediate_size, model.heads]).toEqual(['bert(3x8)', 4, 20, ['mlm']]);
    expect(bertStudent.describe!(resized, {})).toEqual(told(model));
    model.dispose();
    // Sizes left out stay the model's own.
    expect(bertStudent.resize!({ config: TINY }, { numLayers: 1, hiddenSize: 32 }, {}).config)
      .toEqual({ ...TINY, num_hidden_layers: 1, hidden_size: 32 });
  });

  it('turns a checkpoint or a teacher copy into its resolved config and heads, with random weights', async () => {
    const source = new BertModel(TINY, { heads: ['classification', 'mlm'], seed: 7 });
    const dir = path.join(root, 'resize-ckpt');
    await source.save(dir);
    const fromCheckpoint = bertTeacher.resize!({ checkpoint: dir, seed: 1 }, shape, {});
    expect(fromCheckpoint).toEqual({ config: { ...source.config, ...{ num_hidden_layers: 3, hidden_size: 8, num_attention_heads: 4,
      intermediate_size: 20 } }, heads: ['classification', 'mlm'] });
    const teacher = bertTeacher.describe!({ checkpoint: dir }, {});
    const fromTeacher = bertStudent.resize!({ initFromTeacher: { layers: [0] }, config: { num_labels: 2 } }, shape, { teacher });
    expect(fromTeacher.config).toMatchObject({ num_labels: 2, num_hidden_layers: 3, hidden_size: 8, vocab_size: TINY.vocab_size });
    expect(fromTeacher).not.toHaveProperty('initFromTeacher');
    expect(() => bertStudent.resize!({ initFromTeacher: { layers: [0] } }, shape, {}))
      .toThrow("bert: option 'initFromTeacher': cannot size a model like this one");
    source.dispose();
  });
});

describe("the 'bilstm' plugin's describe()", () => {
  it('tells what create() builds, sizes from the teacher when not given', async () => {
    const teacher = bertTeacher.describe!({ config: TINY }, {})!;
    for (const [options, from] of [
      [{ vocabSize: 30, numLabels: 2, units: 4, embeddingSize: 8, denseSize: 8 }, undefined],
      [{ units: 6 }, teacher],
    ] as const) {
      const fakeTeacher = from && { name: 't', info: from.info, emits: from.emits, forward: () => ({}) };
      const model = await bilstm.create(options, env(fakeTeacher)) as BiLstmClassifier;
      const d = bilstm.describe!(options, { teacher: from })!;
      expect([d.info, d.emits]).toEqual([model.info, model.emits]);
      const { seed: _, ...config } = model.config;
      expect(d.config).toEqual(config);
      model.dispose();
    }
    expect(bilstm.describe!({}, {})!.info).toEqual({ numLayers: 1, hiddenSize: 300, numHeads: 0 });
    expect(bilstm.resize).toBeUndefined();
  });
});
