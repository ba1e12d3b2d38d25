import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, silentLogger, type PluginRef, type StepEvent } from '@distillery/core';
import { ConfigError, loadPipelineFile, readPipelineFile } from './index.js';
import { memoryLogger, tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const tmp = tempDir();
beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => tmp.cleanup());

describe('loadPipelineFile', () => {
  it('a YAML file: two stages built from named models and datasets, then run end to end', async () => {
    const file = tmp.write('tiny.yaml', TINY_YAML);
    const tensors = tf.memory().numTensors;
    const loaded = await loadPipelineFile(file, { logger: silentLogger });
    // Checking built the pkd loss (a learned projection) once and freed it.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(loaded.backend).toBe('cpu');
    expect(loaded.seed).toBe(7);
    expect(loaded.file).toBe(file);
    expect(loaded.stages.map((s) => s.name)).toEqual(['finetune', 'distil']);
    const [finetune, distil] = loaded.stages;
    expect(finetune.teacher).toBeUndefined();
    expect((finetune.student as PluginRef).use).toBe('bert');
    expect(distil.teacher).toEqual({ stage: 'finetune' });
    expect(distil.seed).toBe(7);
    expect(distil.losses).toEqual([
      { use: 'hinton', weight: 1, options: { temperature: 2 } }, { use: 'pkd', weight: 10, options: { projection: true } },
    ]);
    expect(finetune.data.train).toBe(loaded.datasets.train.source);
    expect(loaded.origins).toEqual(new Map([['finetune', 'stages[0]'], ['distil', 'stages[1]']]));
    expect(loaded.plugins.map((p) => p.plugin.name)).toEqual(expect.arrayContaining(['bert', 'hinton', 'pkd', 'teacher-assistant']));

    const steps: StepEvent[] = [];
    for (const s of loaded.stages) s.callbacks = [...(s.callbacks ?? []), { onStep: (e) => { steps.push(e); } }];
    const result = await loaded.run();
    expect(result.status).toBe('completed');
    expect(result.stages.map((s) => [s.stage, s.steps])).toEqual([['finetune', 4], ['distil', 4]]);
    expect(Object.keys(steps.at(-1)!.terms).sort()).toEqual(['hinton', 'hinton.hard', 'hinton.soft', 'pkd', 'pkd.patience']);
    expect(steps.every((e) => Number.isFinite(e.loss))).toBe(true);
  });

  it('the same pipeline as JSON builds the same stages', async () => {
    const yamlFile = tmp.write('same.yaml', TINY_YAML);
    const jsonFile = tmp.write('same.json', JSON.stringify(parse(TINY_YAML), null, 2));
    const fromYaml = await readPipelineFile(yamlFile);
    const fromJson = await readPipelineFile(jsonFile);
    expect(fromJson).toEqual(fromYaml);
    expect(parse(stringify(fromJson.stages))).toEqual(fromYaml.stages);
  });

  it('a teacher-assistant entry expands into its chain, logging the choice', async () => {
    const config = parse(TINY_YAML);
    config.models.teacher.config.num_hidden_layers = 2;
    config.models.student.config = { ...config.models.student.config, num_hidden_layers: 1, hidden_size: 8 };
    config.stages[1] = {
      use: 'teacher-assistant',
      options: { name: 'takd', teacher: { stage: 'finetune' }, student: 'student', losses: [{ use: 'hinton' }],
        data: { train: 'train' }, maxSteps: 2, batchSize: 16, studentStage: { maxSteps: 3 } },
    };
    const file = tmp.write('takd.yaml', stringify(config));
    const logger = memoryLogger();
    const loaded = await loadPipelineFile(file, { logger });
    expect(loaded.stages.map((s) => [s.name, s.teacher, s.maxSteps])).toEqual([
      ['finetune', undefined, 4], ['takd-assistant-1', { stage: 'finetune' }, 2], ['takd-student', { stage: 'takd-assistant-1' }, 3],
    ]);
    // Assistant: the teacher's depth (2) and the student's width (8), from the teacher model's config.
    const assistant = loaded.stages[1].student as PluginRef;
    expect(assistant.use).toBe('bert');
    expect(assistant.options!.config).toMatchObject({ num_hidden_layers: 2, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, vocab_size: 40 });
    expect(logger.lines.some((l) => l.startsWith("teacher-assistant 'takd': one assistant 2x8"))).toBe(true);
    expect(loaded.origins.get('takd-student')).toBe('stages[1]');
    const result = await loaded.run();
    expect(result.stages.map((s) => [s.stage, s.steps])).toEqual([['finetune', 4], ['takd-assistant-1', 2], ['takd-student', 3]]);
  });

  it('file datasets (CSV, JSONL) with a bundled tokenizer, and their class ids checked across a stage', async () => {
    tmp.write('data/train.csv', 'text,label\n"great, loved it",pos\nawful,neg\n"fine, really fine",pos\nboring,neg\n');
    tmp.write('data/dev.jsonl', '{"text": "loved it", "label": "pos"}\n{"text": "dull", "label": "neg"}\n');
    const model = { type: 'bert', config: { num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16,
      max_position_embeddings: 16 } };
    const config = {
      models: { model },
      data: {
        train: { type: 'csv', path: 'data/train.csv', tokenizer: 'bert-base-uncased', maxLength: 16 },
        dev: { type: 'jsonl', path: 'data/dev.jsonl', tokenizer: 'bert-base-uncased', maxLength: 16 },
      },
      stages: [{ name: 'fit', student: 'model', losses: [{ use: 'supervised' }], data: { train: 'train', validation: 'dev' }, maxSteps: 2, batchSize: 2 }],
    };
    const loaded = await loadPipelineFile(tmp.write('files.yaml', stringify(config)));
    expect(loaded.datasets.train.labels).toEqual(['neg', 'pos']);
    expect(loaded.datasets.dev.examples).toEqual([{ text: 'loved it', label: 1 }, { text: 'dull', label: 0 }]);
    expect((await loaded.run()).stages[0].steps).toBe(2);
    tmp.write('data/dev.jsonl', '{"text": "loved it", "label": "pos"}\n{"text": "dull", "label": "meh"}\n');
    await expect(loadPipelineFile(tmp.write('files.yaml', stringify(config)))).rejects.toThrow(
      "stages[0].data.validation: dataset 'dev' has classes meh, pos but 'train' has neg, pos: the ids would differ; give both the same 'labels' list");
  });

  it('mlm: masked batches of an unlabelled text dataset for a DistilBERT stage', async () => {
    const bert = { num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 };
    const config = {
      models: { teacher: { type: 'bert', config: bert, heads: ['mlm'] }, student: { type: 'bert', config: bert, heads: ['mlm'], seed: 3 } },
      data: { book: { type: 'moby-dick', unit: 'sentence', tokenizer: 'bert-base-uncased', maxLength: 16, limit: 16 } },
      stages: [{ name: 'general', teacher: 'teacher', student: 'student', losses: [{ use: 'distilbert-cosine' }],
        data: { train: 'book' }, mlm: { probability: 0.3 }, maxSteps: 2, batchSize: 8 }],
    };
    const loaded = await loadPipelineFile(tmp.write('mlm.yaml', stringify(config)));
    const batch = loaded.stages[0].data.train.batch([0, 1, 2, 3]);
    expect(batch.mlmLabels).toBeDefined();
    expect((batch.mlmLabels!.arraySync() as number[][]).flat().some((id) => id !== -100)).toBe(true);
    tf.dispose(Object.values(batch));
    const steps: StepEvent[] = [];
    loaded.stages[0].callbacks = [{ onStep: (e) => { steps.push(e); } }];
    await loaded.run();
    expect(Object.keys(steps[1].terms)).toEqual(expect.arrayContaining(['distilbert-cosine.mlm', 'distilbert-cosine.cos']));
  });

  it('syntax errors name the file, line and column; a missing file is a ConfigError', async () => {
    const bad = tmp.write('bad.yaml', 'stages:\n  - name: a\n    student: [unclosed\n');
    await expect(readPipelineFile(bad)).rejects.toThrow(/^bad\.yaml:\d+:\d+: invalid YAML: /);
    const dup = tmp.write('dup.yaml', 'seed: 1\nseed: 2\nstages: []\n');
    await expect(readPipelineFile(dup)).rejects.toThrow(/dup\.yaml:2:1: invalid YAML: Map keys must be unique/);
    const json = tmp.write('bad.json', '{\n  "stages": [,]\n}');
    await expect(readPipelineFile(json)).rejects.toThrow(/^bad\.json:2:14: invalid JSON: /);
    const missing = readPipelineFile(`${tmp.dir}/nope.yaml`);
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow('cannot read the pipeline file');
  });
});
