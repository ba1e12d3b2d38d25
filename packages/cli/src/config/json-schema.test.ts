// The JSON Schema of pipeline files (`distillery schema`): the committed copy beside the examples is
// the one the command writes today, and it accepts every example and refuses the mistakes the
// config loader refuses (checked with ajv, as editors check files).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { memoryIo } from '../fixtures.test-util.js';
import { main } from '../main.js';
import { pluginsJsonSchema } from './index.js';
import { REPO, tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const folder = path.join(REPO, 'examples', 'spam');
const committed = path.join(folder, 'pipeline.schema.json');
const examples = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let schema: Record<string, unknown>;
let validate: ValidateFunction;
beforeAll(async () => {
  schema = await pluginsJsonSchema();
  validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
});

/** The errors ajv reports for a pipeline, as 'instancePath keyword' pairs. */
function errorsOf(pipeline: unknown): string[] {
  return validate(pipeline) ? [] : (validate.errors as ErrorObject[]).map((e) => `${e.instancePath} ${e.keyword}`);
}

describe('the pipeline JSON Schema', () => {
  it('is committed beside the examples exactly as `distillery schema` writes it (npm run schema:examples)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it.each(examples)('%s points editors at it and is valid', (file) => {
    const text = readFileSync(path.join(folder, file), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./pipeline.schema.json');
    expect(errorsOf(parse(text))).toEqual([]);
  });

  it('refuses an unknown loss option, a temperature of -1 and an unknown loss name, at their paths', () => {
    const pipeline = () => parse(readFileSync(path.join(folder, 'pipeline.yaml'), 'utf8'));
    const typo = pipeline();
    typo.stages[1].losses[0].options = { temprature: 2 };
    expect(errorsOf(typo)).toContain('/stages/1/losses/0/options additionalProperties');
    const negative = pipeline();
    negative.stages[1].losses[0].options.temperature = -1;
    expect(errorsOf(negative)).toContain('/stages/1/losses/0/options/temperature exclusiveMinimum');
    const unknown = pipeline();
    unknown.stages[1].losses[0].use = 'hintonn';
    expect(errorsOf(unknown)).toContain('/stages/1/losses/0/use enum');
  });

  it('checks model options, stage settings, chains, mappings and datasets by their type', () => {
    const tiny = () => parse(TINY_YAML);
    expect(errorsOf(tiny())).toEqual([]);
    const edits: [string, (c: ReturnType<typeof tiny>) => void, string][] = [
      ['bert config typo', (c) => { c.models.student.config.hiden_size = 8; }, '/models/student/config additionalProperties'],
      ['model plugin name', (c) => { c.models.student.type = 'bret'; }, '/models/student/type enum'],
      ['beta1 = 1', (c) => { c.stages[1].optimizer = { beta1: 1 }; }, '/stages/1/optimizer/beta1 exclusiveMaximum'],
      ['evaluation.every', (c) => { c.stages[1].evaluation = { every: 0 }; }, '/stages/1/evaluation/every minimum'],
      ['mapping name', (c) => { c.stages[1].mapping = 'skipp'; }, '/stages/1/mapping enum'],
      ['mapping option', (c) => { c.stages[1].mapping = { use: 'lastLayer', options: { layer: 1 } }; }, '/stages/1/mapping/options additionalProperties'],
      ['callback option', (c) => { c.stages[1].callbacks = [{ use: 'log', options: { every: 0 } }]; }, '/stages/1/callbacks/0/options/every minimum'],
      ['dataset type', (c) => { c.data.train.type = 'parquet'; }, '/data/train/type enum'],
      ['stage key', (c) => { c.stages[1].epoch = 2; }, '/stages/1 additionalProperties'],
      ['chain option', (c) => { c.stages[1] = { use: 'teacher-assistant', options: { teacher: 'teacher', student: 'student', losses: [{ use: 'hinton' }], data: { train: 'train' }, assistant: 'always' } }; }, '/stages/1/options/assistant anyOf'],
    ];
    for (const [what, edit, error] of edits) {
      const config = tiny();
      edit(config);
      expect(errorsOf(config), what).toContain(error);
    }
  });
});

describe('distillery schema', () => {
  it('prints the schema on stdout, or writes it with --out; --plugin adds a module\'s plugins', async () => {
    const io = memoryIo(async () => { throw new Error('unused'); });
    expect(await main(['schema'], io)).toBe(0);
    expect(JSON.parse(io.out)).toEqual(schema);
    const out = path.join(tmp.dir, 'nested', 'pipeline.schema.json');
    const written = memoryIo(async () => { throw new Error('unused'); });
    expect(await main(['schema', '--out', out], written)).toBe(0);
    expect(written.out).toBe(`${out}\n`);
    expect(readFileSync(out, 'utf8')).toBe(io.out);
    const mine = tmp.write('mine.mjs', `import * as z from 'zod';
export default { kind: 'loss', name: 'mine', options: z.strictObject({ scale: z.number().gt(0) }), create() { throw new Error('unused'); } };\n`);
    const withMine = memoryIo(async () => { throw new Error('unused'); });
    expect(await main(['schema', '--plugin', mine], withMine)).toBe(0);
    const loss = JSON.parse(withMine.out).definitions.loss;
    expect(loss.properties.use.enum).toContain('mine');
    expect(loss.allOf.at(-1).then.properties.options.properties.scale).toEqual({ type: 'number', exclusiveMinimum: 0 });
  });
});
