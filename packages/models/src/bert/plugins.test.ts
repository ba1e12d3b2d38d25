import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arraySource, createDistillery, selectBackend, silentLogger } from '@distillery/core';
import type { ModelEnv, Student } from '@distillery/core';
import { BertModel } from './bert-model.js';
import { bertStudent, bertTeacher } from './plugins.js';
import { TINY } from './bert-fixtures.test.util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

let root: string;
beforeAll(async () => { root = await fs.mkdtemp(path.join(os.tmpdir(), 'bert-plugins-')); });
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

const env = (teacher?: ModelEnv['teacher']): ModelEnv => ({ teacher, seed: 3, logger: silentLogger });

describe("the 'bert' plugins", () => {
  it('build from a config; the teacher is a frozen view', async () => {
    const teacher = await bertTeacher.create({ config: TINY }, env());
    expect(teacher.name).toBe('bert(2x16)');
    expect('trainableVariables' in teacher).toBe(false);
    const student = await bertStudent.create({ config: { ...TINY, num_hidden_layers: 1 }, heads: ['mlm'] }, env());
    expect(student).toBeInstanceOf(BertModel);
    expect([...student.emits]).toContain('mlmLogits');
    BertModel.unwrap(teacher)!.dispose();
    (student as BertModel).dispose();
  });

  it('fail clearly on missing, conflicting or unusable options', async () => {
    await expect(bertStudent.create({}, env())).rejects.toThrow(/give 'config', 'checkpoint' or 'initFromTeacher'/);
    await expect(bertTeacher.create({}, env())).rejects.toThrow(/teacher plugin 'bert': give 'config', 'checkpoint'$/);
    await expect(bertStudent.create({ checkpoint: root, initFromTeacher: { layers: [0] } }, env()))
      .rejects.toThrow(/either 'checkpoint' or 'initFromTeacher'/);
    await expect(bertStudent.create({ initFromTeacher: { layers: [0] } }, env()))
      .rejects.toThrow(/'initFromTeacher' needs a BERT teacher in the stage, but the stage's teacher is missing/);
    const mlp = { name: 'mlp(8)', info: { numLayers: 1, hiddenSize: 8, numHeads: 1 }, emits: new Set([]), forward: () => ({}) };
    await expect(bertStudent.create({ initFromTeacher: { layers: [0] } }, env(mlp)))
      .rejects.toThrow(/the stage's teacher is mlp\(8\)/);
    await expect(bertStudent.create({ checkpoint: 42 as never }, env())).rejects.toThrow("bert options.checkpoint: expected a folder path, got 42");
  });

  it('a stage builds the teacher from a checkpoint and the student from its layers, by name', async () => {
    const source = new BertModel(TINY, { seed: 7 });
    const dir = path.join(root, 'teacher');
    await source.save(dir);
    const distillery = createDistillery({ plugins: [bertTeacher, bertStudent], logger: silentLogger });
    const ids = [[2, 5, 6, 3, 0], [2, 9, 3, 0, 0], [2, 7, 8, 9, 3], [2, 4, 3, 0, 0]];
    const result = await distillery.runStage({
      name: 'distil',
      teacher: { use: 'bert', options: { checkpoint: dir } },
      student: { use: 'bert', options: { initFromTeacher: { layers: [1] }, config: { hidden_dropout_prob: 0 } } },
      losses: [{ use: 'supervised' }],
      data: { train: arraySource({ inputIds: ids, labels: [0, 1, 2, 0] }) },
      batchSize: 2,
      maxSteps: 2,
      optimizer: { learningRate: 1e-3 },
    });
    const student = result.student as Student & BertModel;
    expect(student).toBeInstanceOf(BertModel);
    expect(student.name).toBe('bert(1x16)');
    expect(student.config.hidden_dropout_prob).toBe(0);
    // Embeddings came from the teacher and then trained: close to, not equal to, the source.
    const a = source.weights.get('bert.embeddings.LayerNorm.weight')!.dataSync();
    const b = student.weights.get('bert.embeddings.LayerNorm.weight')!.dataSync();
    expect(Array.from(b)).not.toEqual(Array.from(a));
    expect(Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])))).toBeLessThan(0.01);
    await expect(distillery.runStage({
      name: 'typo', student: { use: 'bert', options: { confg: TINY } }, losses: [{ use: 'supervised' }],
      data: { train: arraySource({ inputIds: ids, labels: [0, 1, 2, 0] }) },
    })).rejects.toThrow("stage 'typo' student.options.confg: unknown option for student plugin 'bert' (did you mean 'config'?); " +
      'allowed: config, checkpoint, heads, initHeads, seed, initFromTeacher');
    source.dispose();
    student.dispose();
  });
});

describe("the 'bert' student plugin's log line", () => {
  it('calls the model a student only when the stage has a teacher', async () => {
    const lines: string[] = [];
    const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const config = { vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 };
    const alone = await bertStudent.create({ config }, { seed: 1, logger }) as BertModel;
    const taught = await bertStudent.create({ config }, { seed: 1, logger, teacher: alone.asTeacher() }) as BertModel;
    expect(lines).toEqual([
      `model ${alone.name}: ${alone.parameterCount().toLocaleString('en-US')} parameters`,
      `student ${taught.name}: ${taught.parameterCount().toLocaleString('en-US')} parameters`,
    ]);
    alone.dispose();
    taught.dispose();
  });
});

