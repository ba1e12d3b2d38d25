import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import {
  checkOptionKeys, checkStageSettings, ConfigError, createDistillery, defineLossPlugin, defineMappingPlugin, defineStudentPlugin,
  explicitMapping, lossSpec, parseOptions, pluginJsonSchema, silentLogger, toJsonSchema, uniform, validate, type LossSpec,
  type StandardSchemaV1,
} from '@distillery/core';
import { MlpClassifier, thrown } from '@distillery/core/testing';

const temperatureOptions = z.strictObject({
  temperature: z.number().gt(0).default(4),
  mode: z.enum(['kl', 'ce']).default('kl'),
});

/** A loss plugin with a schema whose create() records what it was given. */
function recordingPlugin() {
  const seen: unknown[] = [];
  const plugin = defineLossPlugin({
    name: 'recorder',
    options: temperatureOptions,
    create: (options) => {
      seen.push(options);
      return { name: 'recorder', teacherFeatures: new Set(), studentFeatures: new Set(), variables: [], compute: () => { throw new Error('unused'); } };
    },
  });
  return { plugin, seen };
}

/** A Standard Schema written by hand (no library): a positive `size` key. */
const handWritten: StandardSchemaV1<{ size: number }> = {
  '~standard': {
    version: 1,
    vendor: 'hand',
    validate: (value) => {
      const size = (value as { size?: unknown } | undefined)?.size;
      return typeof size === 'number' && size > 0 ? { value: { size } } : { issues: [{ message: 'size must be positive', path: [{ key: 'size' }] }] };
    },
  },
};

describe('parseOptions', () => {
  it('returns the parsed value with the defaults filled in', () => {
    expect(parseOptions(temperatureOptions, {}, 'x options')).toEqual({ temperature: 4, mode: 'kl' });
    expect(parseOptions(temperatureOptions, { temperature: 2 }, 'x options')).toEqual({ temperature: 2, mode: 'kl' });
  });

  it('fails with a ConfigError naming the key path under `where`, the value and what was expected', () => {
    const error = thrown(() => parseOptions(temperatureOptions, { temperature: -1 }, "stage 'fit' losses[0].options")) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('config');
    expect(error.message).toBe("stage 'fit' losses[0].options.temperature: expected a number > 0, got -1");
    expect([error.path, error.value]).toEqual(["stage 'fit' losses[0].options.temperature", -1]);
    expect(error.issues[0].keys).toEqual(['temperature']);
  });

  it('names an unknown key as `what`, with the allowed keys and the likely intended one', () => {
    expect(() => parseOptions(temperatureOptions, { temprature: 2 }, 'hinton options', "option for loss plugin 'hinton'"))
      .toThrow("hinton options.temprature: unknown option for loss plugin 'hinton' (did you mean 'temperature'?); allowed: temperature, mode");
    expect(() => parseOptions(temperatureOptions, { colour: 2 }, 'x options'))
      .toThrow('x options.colour: unknown key; allowed: temperature, mode');
  });

  it('lists every problem, one per line', () => {
    const error = thrown(() => parseOptions(temperatureOptions, { temperature: 0, mode: 'mse' }, 'x options')) as ConfigError;
    expect(error.message).toBe('2 problems in x options:\n  x options.temperature: expected a number > 0, got 0\n' +
      '  x options.mode: expected one of "kl", "ce", got "mse"');
    expect(error.issues.map((i) => i.path)).toEqual(['x options.temperature', 'x options.mode']);
  });

  it('names a whole value that is not an object', () => {
    expect(() => parseOptions(temperatureOptions, 5, 'x options')).toThrow('x options: expected an object, got 5');
  });

  it('speaks of the branch of a union the value fits, at its own path', () => {
    expect(() => explicitMapping.create({ pairs: [{ student: 0, teacher: -1 }] }))
      .toThrow('explicit options.pairs[0].teacher: expected an integer >= 0, got -1');
    expect(() => explicitMapping.create({ pairs: 5 } as never)).toThrow('explicit options.pairs: expected a list or an object, got 5');
    expect(() => explicitMapping.create({} as never)).toThrow('explicit options.pairs: missing (expected a list or an object)');
  });
});

describe('any Standard Schema', () => {
  it('validates through ~standard.validate, keeping the library\'s messages and paths', () => {
    expect(validate(handWritten, { size: 3 })).toEqual({ ok: true, value: { size: 3 } });
    expect(validate(handWritten, { size: -3 })).toEqual({ ok: false, issues: [{ path: ['size'], message: 'size must be positive' }] });
    expect(() => parseOptions(handWritten, {}, 'box options')).toThrow('box options.size: size must be positive');
  });

  it('refuses a schema that validates asynchronously, and a value that is not a schema', () => {
    const slow: StandardSchemaV1 = { '~standard': { version: 1, vendor: 'slow', validate: async (value) => ({ value }) } };
    expect(() => validate(slow, {})).toThrow('slow schema validates asynchronously; option schemas must be synchronous');
    expect(() => validate({} as never, {})).toThrow(/not a schema/);
  });

  it('gives a JSON Schema through Standard JSON Schema (zod), else {} or the plugin\'s own', () => {
    const json = toJsonSchema(temperatureOptions);
    expect(json).toEqual({
      type: 'object', additionalProperties: false,
      properties: { temperature: { type: 'number', exclusiveMinimum: 0, default: 4 }, mode: { type: 'string', enum: ['kl', 'ce'], default: 'kl' } },
    });
    expect(toJsonSchema(handWritten)).toEqual({});
    const own = { type: 'object', properties: { size: { type: 'number', exclusiveMinimum: 0 } } };
    const box = defineLossPlugin({ name: 'box', options: handWritten, jsonSchema: own, create: () => { throw new Error('unused'); } });
    expect(pluginJsonSchema(box)).toBe(own);
    expect(pluginJsonSchema({})).toEqual({});
  });
});

describe('define*Plugin with a schema', () => {
  it('create() validates what it is given and hands on the parsed options (defaults filled in)', () => {
    const { plugin, seen } = recordingPlugin();
    plugin.create({ temperature: 2 }, undefined as never);
    plugin.create(undefined as never, undefined as never);
    expect(seen).toEqual([{ temperature: 2, mode: 'kl' }, { temperature: 4, mode: 'kl' }]);
    expect(() => plugin.create({ temperature: -1 }, undefined as never)).toThrow('recorder options.temperature: expected a number > 0, got -1');
    expect(seen).toHaveLength(2);
  });

  it('an async model plugin rejects on a bad option, as a failed build would', async () => {
    const student = defineStudentPlugin({
      name: 'mlp', options: z.strictObject({ hidden: z.int().min(1) }),
      create: async ({ hidden }) => new MlpClassifier({ vocabSize: 4, embeddingSize: 2, hiddenSizes: [hidden], numLabels: 2 }),
    });
    const pending = student.create({ hidden: 0 }, { seed: 1, logger: silentLogger });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toThrow('mlp options.hidden: expected an integer >= 1, got 0');
  });

  it("a model plugin's describe(options, env) and resize(options, shape, env) get the parsed options too", () => {
    const options = z.strictObject({ hidden: z.int().min(1).default(8), layers: z.int().min(1).default(2) });
    const student = defineStudentPlugin({
      name: 'mlp', options, create: () => { throw new Error('unused'); },
      describe: (o) => ({ info: { numLayers: o.layers, hiddenSize: o.hidden, numHeads: 0 }, emits: new Set(['logits']) }),
      resize: (o, shape) => ({ ...o, layers: shape.numLayers, hidden: shape.hiddenSize }),
    });
    expect(student.describe!({}, {})?.info).toEqual({ numLayers: 2, hiddenSize: 8, numHeads: 0 });
    expect(student.resize!({ hidden: 16 }, { numLayers: 3, hiddenSize: 4 }, {})).toEqual({ hidden: 4, layers: 3 });
    const error = thrown(() => student.describe!({ hidden: 0 }, {})) as ConfigError;
    expect(error.message).toBe('mlp options.hidden: expected an integer >= 1, got 0');
    // Like a plugin's own option errors, it points at the option (DistilleryError.option).
    expect(error.option).toEqual(['hidden']);
    expect(() => student.resize!({ hidden: 1, layer: 2 } as never, { numLayers: 1, hiddenSize: 1 }, {}))
      .toThrow("mlp options.layer: unknown option for student plugin 'mlp' (did you mean 'layers'?)");
  });

  it('a plugin without a schema gets its options unchecked, as before', () => {
    const seen: unknown[] = [];
    const plain = defineMappingPlugin<{ any?: number }>({ name: 'plain', create: (o) => { seen.push(o); return uniform(); } });
    expect(() => checkOptionKeys(plain, { whatever: 1 }, "stage 'x' mapping")).not.toThrow();
    plain.create({ any: 1 });
    expect(seen).toEqual([{ any: 1 }]);
  });

  it('checkOptionKeys places the problems under the entry that holds the options', () => {
    const { plugin } = recordingPlugin();
    expect(() => checkOptionKeys(plugin, { mode: 'x' }, "stage 'fit' losses[2]"))
      .toThrow(`stage 'fit' losses[2].options.mode: expected one of "kl", "ce", got "x"`);
    expect(() => checkOptionKeys(plugin, undefined, "stage 'fit' losses[2]")).not.toThrow();
  });

  it('types the options from the schema: create gets the output, callers pass the input', () => {
    const { plugin } = recordingPlugin();
    expectTypeOf<Parameters<typeof plugin.create>[0]>().toEqualTypeOf<{ temperature?: number | undefined; mode?: 'kl' | 'ce' | undefined }>();
    const spec = lossSpec(plugin, { temperature: 3 }, 2);
    expect(spec).toEqual({ use: plugin, options: { temperature: 3 }, weight: 2 });
    expectTypeOf(spec).toMatchTypeOf<LossSpec>();
    // @ts-expect-error: 'hot' is not a mode the schema allows
    lossSpec(plugin, { mode: 'hot' });
  });
});

describe('checkStageSettings', () => {
  it('checks a stage written in code with the bounds of a pipeline file, naming the stage and the key', () => {
    const stage = { name: 'fit', student: {}, losses: [{ use: 'supervised' }], data: {} };
    expect(() => checkStageSettings(stage)).not.toThrow();
    expect(() => checkStageSettings({ ...stage, optimizer: { beta1: 1 } })).toThrow("stage 'fit' optimizer.beta1: expected a number < 1, got 1");
    expect(() => checkStageSettings({ ...stage, evaluation: { every: 0 } }))
      .toThrow("stage 'fit' evaluation.every: expected an integer >= 1, got 0");
    expect(() => checkStageSettings({ ...stage, evaluation: { every: 'epoch', metric: 'loss' } })).not.toThrow();
    expect(() => checkStageSettings({ ...stage, checkpoint: { dir: 'x', everySteps: 1.5 } }))
      .toThrow("stage 'fit' checkpoint.everySteps: expected an integer, got 1.5");
    // teacherCache: a hook in code, a flag for runners with their own cache (a file's boolean).
    for (const teacherCache of [true, false, () => undefined]) expect(() => checkStageSettings({ ...stage, teacherCache })).not.toThrow();
    expect(() => checkStageSettings({ ...stage, teacherCache: 'yes' })).toThrow("stage 'fit' teacherCache: expected true or false or a function, got \"yes\"");
  });

  it('runs on every stage of a pipeline before the first one trains', async () => {
    const d = createDistillery({ logger: silentLogger });
    const model = new MlpClassifier({ vocabSize: 4, embeddingSize: 2, hiddenSizes: [4], numLabels: 2 });
    const data = { train: { size: 1, batch: () => { throw new Error('nothing may train'); } } };
    const good = { name: 'a', student: model, losses: [{ use: 'supervised' }], data };
    await expect(d.run([good, { ...good, name: 'b', epochs: 0 }])).rejects.toThrow("stage 'b' epochs: expected an integer >= 1, got 0");
    model.dispose();
  });
});
