import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, defineStudentPlugin, defineTeacherPlugin, silentLogger, type Logger, type ModelDescription, type StageConfig,
} from '@distillery/core';
import { MlpClassifier } from '@distillery/core/testing';
import { BertModel, bertStudent, bertTeacher, type BertConfigInput } from '@distillery/models';
import { teacherAssistant, teacherAssistantPlugin, type TeacherAssistantOptions } from './index.js';

const base: BertConfigInput = { vocab_size: 40, max_position_embeddings: 16, num_labels: 3 };
const teacherConfig = { ...base, num_hidden_layers: 4, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64 };
const studentConfig = { ...base, num_hidden_layers: 2, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 };
const data = { train: arraySource({ inputIds: [[1, 2, 3]], labels: [0] }) };
const losses = [{ use: 'hinton', options: { temperature: 2 } }];
const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
const refs = {
  teacher: { use: 'bert', options: { config: teacherConfig } },
  student: { use: 'bert', options: { config: studentConfig } },
};
const models: BertModel[] = [];
afterAll(() => models.forEach((m) => m.dispose()));

const plugins = [bertTeacher, bertStudent];
const chain = (options: Partial<TeacherAssistantOptions>) =>
  teacherAssistant({ ...refs, losses, data, logger, plugins, ...options } as TeacherAssistantOptions);

describe('teacherAssistant()', () => {
  it("'auto' with a 4x32 teacher and a 2x16 student: assistant 4x16 from the teacher config, two linked stages", () => {
    lines.length = 0;
    const stages = chain({ name: 'takd', batchSize: 8, epochs: 2, optimizer: { learningRate: 1e-3 } });
    expect(stages.map((s) => s.name)).toEqual(['takd-assistant-1', 'takd-student']);
    expect(stages[0]).toEqual({
      name: 'takd-assistant-1', teacher: refs.teacher, losses, data, batchSize: 8, epochs: 2, optimizer: { learningRate: 1e-3 },
      student: { use: 'bert', options: { config: { ...teacherConfig, num_hidden_layers: 4, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 } } },
    });
    // The student learns from the assistant stage's trained student, frozen.
    expect(stages[1]).toEqual({
      name: 'takd-student', teacher: { stage: 'takd-assistant-1' }, student: refs.student, losses, data,
      batchSize: 8, epochs: 2, optimizer: { learningRate: 1e-3 },
    });
    expect(stages.plan.assistants).toHaveLength(1);
    expect(stages.description).toBe(
      "teacher-assistant 'takd': one assistant 4x16 with the teacher's depth and the student's width (auto, MiniLM rule: " +
      'M=2 ≤ N/2=2, H_s=16 ≤ H_t/2=16): teacher 4x32 → assistant 4x16 → student 2x16; stages: takd-assistant-1, takd-student');
    expect(lines).toEqual([stages.description]);
  });

  it("'auto' says when no assistant is needed and builds the single stage", () => {
    const stages = chain({ student: { use: 'bert', options: { config: { ...studentConfig, num_hidden_layers: 3 } } } });
    expect(stages.map((s) => [s.name, s.teacher])).toEqual([['ta-student', refs.teacher]]);
    expect(stages.description).toContain('no assistant (auto, MiniLM rule: needs M ≤ N/2 and H_s ≤ H_t/2; M=3 > N/2=2');
  });

  it('an explicit list builds a longer chain, each stage taught by the one before', () => {
    const stages = chain({ assistant: [{ numLayers: 4, hiddenSize: 24 }, { numLayers: 3, hiddenSize: 16 }] });
    expect(stages.map((s) => [s.name, s.teacher])).toEqual([
      ['ta-assistant-1', refs.teacher], ['ta-assistant-2', { stage: 'ta-assistant-1' }], ['ta-student', { stage: 'ta-assistant-2' }],
    ]);
    const configs = stages.slice(0, 2).map((s) => (s.student as unknown as { options: { config: BertConfigInput } }).options.config);
    expect(configs.map((c) => [c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.intermediate_size]))
      .toEqual([[4, 24, 2, 48], [3, 16, 2, 32]]);
    expect(configs[0].vocab_size).toBe(40);
  });

  it('per-role stage fields, checkpoint folders per stage, assistant plugin options and heads', () => {
    const stages = chain({
      teacher: { use: 'bert', options: { config: teacherConfig, heads: ['mlm'] } },
      epochs: 1, assistantStage: { epochs: 3 }, studentStage: { losses: [{ use: 'supervised' }] },
      checkpoint: { dir: 'runs/takd', everySteps: 10 }, assistantOptions: { seed: 9 },
    });
    expect(stages.map((s) => [s.epochs, s.losses, s.checkpoint]))
      .toEqual([[3, losses, { dir: 'runs/takd/ta-assistant-1', everySteps: 10 }],
        [1, [{ use: 'supervised' }], { dir: 'runs/takd/ta-student', everySteps: 10 }]]);
    expect((stages[0].student as { options: object }).options).toMatchObject({ heads: ['mlm'], seed: 9 });
  });

  it('reads shapes from model objects; assistants are built like teacherAs, a plugin reference to a model like the teacher', () => {
    const teacher = new BertModel(teacherConfig, { heads: ['classification', 'mlm'] });
    const student = new BertModel(studentConfig);
    models.push(teacher, student);
    expect(() => chain({ teacher, student })).toThrow("teacher-assistant: assistant 1 is built like the teacher, which is not a " +
      "plugin reference; pass 'teacherAs'");
    const stages = chain({ teacher, student, teacherAs: { use: 'bert', options: { config: teacher.config, heads: [...teacher.heads] } } });
    expect(stages.plan.assistants).toEqual([{ numLayers: 4, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }]);
    expect(stages[0].teacher).toBe(teacher);
    expect(stages[1].student).toBe(student);
    expect((stages[0].student as { options: object }).options).toEqual({
      config: { ...teacher.config, num_hidden_layers: 4, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 },
      heads: ['classification', 'mlm'],
    });
  });

  it('a { stage } teacher needs teacherAs for the rule; with it, the assistant is built from it', () => {
    expect(() => chain({ teacher: { stage: 'finetune' } }))
      .toThrow("teacher-assistant: the teacher's shape cannot be read: its reference is a { stage }; pass 'teacherAs'");
    const stages = chain({ teacher: { stage: 'finetune' }, teacherAs: refs.teacher });
    expect(stages[0].teacher).toEqual({ stage: 'finetune' });
    expect(stages).toHaveLength(2);
    expect(stages[0].student).toEqual({ use: 'bert', options: { config: { ...teacherConfig, hidden_size: 16, intermediate_size: 32 } } });
    // 'none' needs no shapes at all.
    expect(chain({ teacher: { stage: 'finetune' }, assistant: 'none' }).map((s) => s.name)).toEqual(['ta-student']);
  });

  it('assistantModel builds assistants any other way', () => {
    const built: unknown[] = [];
    const stages = chain({ assistantModel: (shape, i) => { built.push([shape, i]); return { use: 'my-student', options: { i } }; } });
    expect(stages[0].student).toEqual({ use: 'my-student', options: { i: 0 } });
    expect(built).toEqual([[{ numLayers: 4, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, 0]]);
  });

  it("a checkpoint teacher is described by its plugin (its config.json); an end whose plugin is not given is named", async () => {
    const source = new BertModel(teacherConfig, { heads: ['classification', 'mlm'], seed: 4 });
    models.push(source);
    const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ta-chain-')), 'teacher');
    await source.save(dir);
    const stages = chain({ teacher: { use: 'bert', options: { checkpoint: dir } } });
    expect(stages[0].student).toEqual({ use: 'bert', options: {
      config: { ...source.config, num_hidden_layers: 4, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 },
      heads: ['classification', 'mlm'],
    } });
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
    expect(() => chain({ plugins: [] })).toThrow("teacher-assistant: the teacher's shape cannot be read: its plugin 'bert' is not " +
      "among 'plugins'; pass 'teacherAs'");
    expect(() => chain({ plugins: [bertTeacher] })).toThrow("assistant 1 is built with the student plugin 'bert' (the teacher's), " +
      "which is not among 'plugins'; pass 'assistantModel'");
  });

  it('knows no model type: a third-party plugin with describe() and resize() gets its own chain', () => {
    interface ToyOptions { layers: number; width: number; heads?: number }
    const describe = (o: ToyOptions): ModelDescription =>
      ({ info: { numLayers: o.layers, hiddenSize: o.width, numHeads: o.heads ?? 1, numLabels: 3 }, emits: new Set(['logits']) });
    const toy = {
      name: 'toy', describe,
      resize: (_o: ToyOptions, shape: { numLayers: number; hiddenSize: number; numHeads?: number }) =>
        ({ layers: shape.numLayers, width: shape.hiddenSize, heads: shape.numHeads }),
    };
    const build = (o: ToyOptions) => new MlpClassifier({ vocabSize: 40, embeddingSize: 4, hiddenSizes: Array(o.layers).fill(o.width), numLabels: 3 });
    const toyPlugins = [defineTeacherPlugin<ToyOptions>({ ...toy, create: build }), defineStudentPlugin<ToyOptions>({ ...toy, create: build })];
    const stages = chain({
      plugins: toyPlugins,
      teacher: { use: 'toy', options: { layers: 6, width: 24, heads: 3 } }, student: { use: 'toy', options: { layers: 3, width: 12, heads: 2 } },
    });
    expect(stages.plan.assistants).toEqual([{ numLayers: 6, hiddenSize: 12, numHeads: 2, intermediateSize: 48 }]);
    expect(stages[0].student).toEqual({ use: 'toy', options: { layers: 6, width: 12, heads: 2 } });
  });

  it('rejects unknown options and a missing end, naming them', () => {
    expect(() => chain({ epoch: 3 } as never)).toThrow("teacher-assistant options.epoch: unknown option for stage plugin " +
      "'teacher-assistant' (did you mean 'epochs'?); allowed: name, teacher");
    expect(() => chain({ student: undefined })).toThrow('teacher-assistant options.student: missing (expected the student: a model, ' +
      '{ stage: <name> }, { use, options } or a factory)');
    expect(() => chain({ assistant: 'yes' as never })).toThrow('teacher-assistant options.assistant: expected one of "auto", "none", got "yes"');
    expect(() => chain({ assistant: [{ numLayers: 0, hiddenSize: 8 }] }))
      .toThrow('teacher-assistant options.assistant[0].numLayers: expected an integer >= 1, got 0');
  });
});

describe("the 'teacher-assistant' stage plugin", () => {
  it('expands in a pipeline next to ordinary stages, and checks option keys', () => {
    const distillery = createDistillery({ logger: silentLogger, plugins: [teacherAssistantPlugin] });
    const finetune: StageConfig = { name: 'finetune', student: refs.teacher, losses: [{ use: 'supervised' }], data };
    const stages = distillery.expand([
      finetune, { use: 'teacher-assistant', options: { ...refs, teacher: { stage: 'finetune' }, teacherAs: refs.teacher, plugins, losses, data, logger } },
    ]);
    expect(stages.map((s) => s.name)).toEqual(['finetune', 'ta-assistant-1', 'ta-student']);
    expect(() => distillery.expand([{ use: 'teacher-assistant', options: { ...refs, losses, data, epoch: 1 } }]))
      .toThrow("pipeline[0].options.epoch: unknown option for stage plugin 'teacher-assistant' (did you mean 'epochs'?)");
  });

  it("builds with the Distillery's registered model plugins when 'plugins' is not given", () => {
    const bare = createDistillery({ logger: silentLogger, plugins: [teacherAssistantPlugin] });
    const entry = { use: 'teacher-assistant', options: { ...refs, teacher: { stage: 'finetune' }, teacherAs: refs.teacher, losses, data, logger } };
    const finetune: StageConfig = { name: 'finetune', student: refs.teacher, losses: [{ use: 'supervised' }], data };
    expect(() => bare.expand([finetune, entry])).toThrow("its plugin 'bert' is not");
    const withModels = createDistillery({ logger: silentLogger, plugins: [teacherAssistantPlugin, ...plugins] });
    expect(withModels.expand([finetune, entry]).map((s) => s.name)).toEqual(['finetune', 'ta-assistant-1', 'ta-student']);
  });
});
