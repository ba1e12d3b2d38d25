import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, parsePipelineConfig } from './index.js';
import { TINY_YAML } from './config-fixtures.test-util.js';

const base = () => parse(TINY_YAML);

/** The lines of the ConfigError that parsing the edited tiny pipeline raises. */
function problems(edit: (c: ReturnType<typeof base>) => void): string[] {
  const config = base();
  edit(config);
  try {
    parsePipelineConfig(config, { baseDir: '/work/project' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('parsePipelineConfig: the schema', () => {
  it('accepts the tiny pipeline, filling backend and seed defaults and keeping what was written', () => {
    const config = parsePipelineConfig(base(), { baseDir: '/work/project' });
    expect(config.backend).toBe('cpu');
    expect(config.stages[1]).toEqual(base().stages[1]);
    const minimal = parsePipelineConfig({ stages: [{ name: 's', student: { type: 'x' }, losses: [{ use: 'l' }], data: { train: 'd' } }],
      data: { d: { type: 'synthetic', numClasses: 2, vocabSize: 5, seqLength: 3, size: 4 } } });
    expect([minimal.backend, minimal.seed, minimal.plugins, minimal.models, minimal.baseDir]).toEqual(['auto', 42, [], {}, process.cwd()]);
  });

  it('numbers: bounds and integers, with the bad value', () => {
    expect(problems((c) => { c.stages[1].optimizer.learningRate = -1; c.stages[1].batchSize = 2.5; c.stages[0].epochs = 0; }))
      .toEqual([
        'stages[0].epochs: expected an integer >= 1, got 0',
        'stages[1].batchSize: expected an integer, got 2.5',
        'stages[1].optimizer.learningRate: expected a number > 0, got -1',
      ]);
    expect(problems((c) => { c.stages[1].losses[0].weight = -0.5; c.stages[1].optimizer.beta2 = 1; c.stages[1].optimizer.warmupRatio = 2; }))
      .toEqual([
        'stages[1].losses[0].weight: expected a number >= 0, got -0.5',
        'stages[1].optimizer.beta2: expected a number < 1, got 1',
        'stages[1].optimizer.warmupRatio: expected a number <= 1, got 2',
      ]);
    expect(problems((c) => { c.seed = '7'; })).toEqual(['seed: expected an integer, got "7"']);
  });

  it('choices, strings, lists, objects and missing keys', () => {
    expect(problems((c) => { c.backend = 'gpu'; c.stages[1].optimizer.schedule = 'cosine'; c.stages[1].evaluation = { metric: 'auc' }; }))
      .toEqual([
        'backend: expected one of "auto", "tensorflow", "wasm", "cpu", got "gpu"',
        'stages[1].optimizer.schedule: expected one of "linear", "constant", got "cosine"',
        'stages[1].evaluation.metric: expected one of "accuracy", "f1", "mcc", "mse", "loss", got "auc"',
      ]);
    expect(problems((c) => { c.stages[1].losses = []; c.stages[0].data = 'train'; delete c.stages[0].losses; }))
      .toEqual([
        'stages[0].losses: missing (expected a list)',
        'stages[0].data: expected an object, got "train"',
        'stages[1].losses: expected at least 1 item, got an empty list',
      ]);
    expect(problems((c) => { c.stages = []; })).toEqual(['stages: expected at least 1 item, got an empty list']);
    expect(problems((c) => { c.stages[0].name = ''; c.stages[1].losses[0].use = 3; })).toEqual([
      'stages[0].name: expected a non-empty string',
      'stages[1].losses[0].use: expected a string, got 3',
    ]);
  });

  it("evaluation.every: 'epoch' or a step count", () => {
    for (const every of ['epoch', 50]) {
      const config = base();
      config.stages[1].evaluation = { every, metric: 'loss' };
      expect(parsePipelineConfig(config, { baseDir: '/work/project' }).stages[1]).toMatchObject({ evaluation: { every, metric: 'loss' } });
    }
    expect(problems((c) => { c.stages[1].evaluation = { every: 0 }; })).toEqual(['stages[1].evaluation.every: expected an integer >= 1, got 0']);
    expect(problems((c) => { c.stages[1].evaluation = { every: 'step' }; })).toEqual(['stages[1].evaluation.every: expected "epoch", got "step"']);
  });

  it('unknown keys, one error each, with the allowed keys and a likely meant one', () => {
    expect(problems((c) => { c.seeed = 1; c.stages[1].optimizer.lr = 1e-3; c.stages[1].epoch = 2; })).toEqual([
      'stages[1].optimizer.lr: unknown key; allowed: learningRate, weightDecay, beta1, beta2, epsilon, clipNorm, schedule, warmupSteps, warmupRatio',
      "stages[1].epoch: unknown key (did you mean 'epochs'?); allowed: name, teacher, student, losses, mapping, data, batchSize, " +
        'epochs, maxSteps, optimizer, seed, evaluation, checkpoint, callbacks, mlm, teacherCache',
      "seeed: unknown key (did you mean 'seed'?); allowed: description, backend, seed, plugins, output, teacherCache, models, data, stages",
    ]);
    expect(problems((c) => { c.stages[1].losses[0].option = {}; })).toEqual([
      "stages[1].losses[0].option: unknown key (did you mean 'options'?); allowed: use, weight, options",
    ]);
  });

  it('model references, dataset types and stage entries name the shape they expected', () => {
    expect(problems((c) => { c.stages[1].student = 5; c.stages[1].teacher = { stage: 'finetune', layers: 2 }; })).toEqual([
      "stages[1].teacher.layers: unknown key; allowed: stage",
      "stages[1].student: expected a model name (a key of 'models'), { stage: <earlier stage> } or { type: <model plugin>, ...options }, got 5",
    ]);
    expect(problems((c) => { c.data.train.type = 'spamassassin'; c.data.dev = { type: 'csv', tokenizer: 'bert-base-uncased' }; })).toEqual([
      'data.train.type: expected one of "spam-assassin", "moby-dick", "synthetic", "jsonl", "csv", "tsv", got "spamassassin"',
      'data.dev.path: missing (expected a string)',
    ]);
    expect(problems((c) => { c.stages.push('distil-again'); c.stages.push({ use: 'teacher-assistant', options: { epochs: 2 } }); })).toEqual([
      'stages[2]: expected a stage { name, student, losses, data, ... } or a stage plugin { use, options }, got "distil-again"',
      "stages[3].options.teacher: missing (expected a model name (a key of 'models'), { stage: <earlier stage> } or { type: <model plugin>, ...options })",
      "stages[3].options.student: missing (expected a model name (a key of 'models'), { stage: <earlier stage> } or { type: <model plugin>, ...options })",
      'stages[3].options.losses: missing (expected a list)',
      'stages[3].options.data: missing (expected an object)',
    ]);
    expect(problems((c) => { c.stages[1] = { use: 'teacher-assistant', options: { teacher: 'teacher', student: 'student',
      losses: [{ use: 'hinton' }], data: { train: 'train' }, assistant: [{ numLayers: 0, hiddenSize: 8 }], epoch: 1 } }; }))
      .toEqual([
        'stages[1].options.assistant[0].numLayers: expected an integer >= 1, got 0',
        "stages[1].options.epoch: unknown key (did you mean 'epochs'?); allowed: name, teacher, student, assistant, " +
          'assistantOptions, assistantStage, studentStage, losses, mapping, data, batchSize, epochs, maxSteps, optimizer, ' +
          'seed, evaluation, checkpoint, callbacks, mlm, teacherCache',
      ]);
  });

  it('names must be defined: models, datasets, and stage names once', () => {
    expect(problems((c) => { c.stages[1].student = 'pupil'; c.stages[1].data.validation = 'test'; c.stages[1].name = 'finetune'; })).toEqual([
      "stages[1].name: stages[0] already has the name 'finetune'",
      "stages[1].student: no model named 'pupil' under 'models'; defined: 'teacher', 'student'",
      "stages[1].data.validation: no dataset named 'test' under 'data'; defined: 'train', 'dev'",
    ]);
  });

  it("an error's path and value are the first issue's", () => {
    const config = base();
    config.stages[1].losses[0].weight = -3;
    const error = (() => { try { parsePipelineConfig(config); } catch (e) { return e as ConfigError; } })()!;
    expect([error.path, error.value, error.code, error.name]).toEqual(['stages[1].losses[0].weight', -3, 'config', 'ConfigError']);
    expect(error.message).toBe('stages[1].losses[0].weight: expected a number >= 0, got -3');
  });
});

describe('parsePipelineConfig: paths', () => {
  it('relative paths are resolved against baseDir; package names and bundled tokenizers are left alone', () => {
    const config = base();
    config.plugins = ['./my-loss.mjs', '@acme/distillery-plugins', '/abs/plugin.js'];
    config.output = 'runs/tiny';
    config.models.teacher = { type: 'bert', checkpoint: '../models/bert-sst2' };
    config.data.reviews = { type: 'csv', path: 'data/reviews.csv', tokenizer: 'tok/tokenizer.json' };
    config.data.spam = { type: 'spam-assassin', tokenizer: 'bert-base-uncased' };
    config.stages[1].checkpoint = { dir: 'ckpt/distil', everySteps: 10 };
    const parsed = parsePipelineConfig(config, { baseDir: '/work/project' });
    expect(parsed.plugins).toEqual(['/work/project/my-loss.mjs', '@acme/distillery-plugins', '/abs/plugin.js']);
    expect(parsed.output).toBe('/work/project/runs/tiny');
    expect(parsed.models.teacher.checkpoint).toBe(path.resolve('/work/models/bert-sst2'));
    expect(parsed.data.reviews).toMatchObject({ path: '/work/project/data/reviews.csv', tokenizer: '/work/project/tok/tokenizer.json' });
    expect(parsed.data.spam).toMatchObject({ tokenizer: 'bert-base-uncased' });
    expect((parsed.stages[1] as { checkpoint: object }).checkpoint).toEqual({ dir: '/work/project/ckpt/distil', everySteps: 10 });
    expect(parsed.baseDir).toBe('/work/project');
  });
});
