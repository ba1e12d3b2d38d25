import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { defineLossPlugin, selectBackend, silentLogger, type StepEvent } from '@distillery/core';
import { hinton } from '@distillery/loss-hinton';
import { ConfigError, discoverPlugins, loadPipelineFile, pluginsOf } from './index.js';
import { installHint, OFFICIAL_PLUGINS } from './plugins-discovery.js';
import { tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const tmp = tempDir();
beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => tmp.cleanup());

// A user's loss plugin, as a plain module beside the pipeline file (a plugin is a plain object;
// defineLossPlugin from @distillery/core adds types and parses the options in create). Its schema
// declares the keys; its own check of scale's sign, worded as hand-written checks are, shows that
// those errors also land at the option's path.
const MY_LOSS = `
import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod';

/** Mean absolute difference of the logits, times scale. */
export const logitL1 = {
  kind: 'loss', name: 'logit-l1', options: z.strictObject({ scale: z.number().optional() }),
  create({ scale = 1 } = {}) {
    if (typeof scale !== 'number' || !(scale > 0)) throw new Error(\`logit-l1: option 'scale' must be > 0, got \${JSON.stringify(scale)}\`);
    return {
      name: 'logit-l1', variables: [], teacherFeatures: new Set(['logits']), studentFeatures: new Set(['logits']),
      compute({ teacher, student }) {
        const l1 = tf.tidy(() => tf.mul(tf.mean(tf.abs(tf.sub(teacher.logits, student.logits))), scale));
        return { total: l1, terms: { l1 } };
      },
    };
  },
};
export const version = '1.0';
`;

const ACME = `
export default [{
  kind: 'mapping', name: 'acme-last',
  create: () => ({ name: 'acme-last', pairs: (n, m) => Array.from({ length: m - 1 }, (_, i) => ({ student: i + 1, teacher: n - m + i + 1 })) }),
}];
`;

describe('pluginsOf: the plugin-module convention', () => {
  it('takes the default export (one plugin or a list) and every named export that is a plugin, once each', () => {
    const other = defineLossPlugin({ name: 'other', create: () => { throw new Error('unused'); } });
    expect(pluginsOf({ default: hinton, hinton, other, helper: () => 1, VERSION: '1' })).toEqual([hinton, other]);
    expect(pluginsOf({ default: [hinton, other] })).toEqual([hinton, other]);
    expect(pluginsOf({ default: { kind: 'loss', name: 'x' }, y: { kind: 'metric', name: 'y', create() {} } })).toEqual([]);
  });
});

describe('user plugin modules listed in the file', () => {
  it('a custom loss in ./my-loss.mjs is registered and trains from the config', async () => {
    tmp.write('my-loss.mjs', MY_LOSS);
    const config = parse(TINY_YAML);
    config.plugins = ['./my-loss.mjs'];
    config.stages[1].losses = [{ use: 'logit-l1', weight: 1, options: { scale: 2 } }, { use: 'hinton' }];
    const file = tmp.write('custom.yaml', stringify(config));
    const loaded = await loadPipelineFile(file, { logger: silentLogger });
    expect(loaded.plugins.find((p) => p.plugin.name === 'logit-l1')?.from).toBe(`${tmp.dir}/my-loss.mjs`);
    const steps: StepEvent[] = [];
    loaded.stages[1].callbacks = [{ onStep: (e) => { steps.push(e); } }];
    const result = await loaded.run();
    expect(result.status).toBe('completed');
    expect(steps).toHaveLength(4);
    for (const { terms } of steps) {
      expect(terms['logit-l1']).toBeGreaterThan(0);
      expect(terms['logit-l1.l1']).toBe(terms['logit-l1']);
    }
  });

  it("its option errors are reported at the option's path", async () => {
    tmp.write('my-loss.mjs', MY_LOSS);
    const config = parse(TINY_YAML);
    config.plugins = ['./my-loss.mjs'];
    config.stages[1].losses = [{ use: 'hinton' }, { use: 'logit-l1', options: { scale: -1 } }];
    const file = tmp.write('bad-scale.yaml', stringify(config));
    await expect(loadPipelineFile(file)).rejects.toThrow('stages[1].losses[1].options.scale: expected a number > 0, got -1');
    config.stages[1].losses[1].options = { scal: 1 };
    await expect(loadPipelineFile(tmp.write('bad-key.yaml', stringify(config))))
      .rejects.toThrow("stages[1].losses[1].options.scal: unknown option for loss plugin 'logit-l1' (did you mean 'scale'?); allowed: scale");
    config.stages[1].losses[1].options = { scale: 'big' };
    await expect(loadPipelineFile(tmp.write('bad-type.yaml', stringify(config))))
      .rejects.toThrow('stages[1].losses[1].options.scale: expected a number, got "big"');
  });

  it('a package name is resolved from the config file folder', async () => {
    tmp.write('node_modules/@acme/distillery-plugins/package.json',
      JSON.stringify({ name: '@acme/distillery-plugins', type: 'module', main: 'index.mjs' }));
    tmp.write('node_modules/@acme/distillery-plugins/index.mjs', ACME);
    const config = parse(TINY_YAML);
    config.plugins = ['@acme/distillery-plugins'];
    config.stages[1].mapping = { use: 'acme-last' };
    const loaded = await loadPipelineFile(tmp.write('acme.yaml', stringify(config)));
    expect(loaded.plugins.find((p) => p.plugin.name === 'acme-last')?.from).toBe('@acme/distillery-plugins');
    expect(loaded.stages[1].mapping).toEqual({ use: 'acme-last' });
  });

  it('a module that is missing, exports no plugin, or clashes with an installed one fails at plugins[i]', async () => {
    const missing = await discoverPlugins({ modules: [`${tmp.dir}/nope.mjs`], installed: [] }).catch((e: ConfigError) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).path).toBe('plugins[0]');
    expect((missing as ConfigError).message).toMatch(/^plugins\[0\]: could not load plugin module .*nope\.mjs \(tried .*nope\.mjs\): /);

    const none = tmp.write('none.mjs', 'export const answer = 42;\n');
    await expect(discoverPlugins({ modules: [none], installed: [] })).rejects.toThrow(
      `plugins[0]: ${none} exports no plugin (expected a default export or named exports of { kind, name, create } objects, ` +
      'e.g. made with defineLossPlugin; its exports: answer)');

    const clash = tmp.write('clash.mjs', "export default { kind: 'loss', name: 'hinton', create() {} };\n");
    await expect(discoverPlugins({ modules: [clash] })).rejects.toThrow(
      `plugins[0]: ${clash} exports a loss plugin named 'hinton', which @distillery/loss-hinton already provides; rename one`);

    const pkg = await discoverPlugins({ modules: ['@acme/not-installed'], baseDir: tmp.dir, installed: [] }).catch((e: ConfigError) => e);
    expect((pkg as ConfigError).message).toMatch(/^plugins\[0\]: could not load plugin module @acme\/not-installed \(tried @acme\/not-installed from .* \(not found\); @acme\/not-installed from the distillery installation\)/);
  });

  it('finds the plugins of every installed @distillery package', async () => {
    const found = await discoverPlugins();
    const names = found.map(({ plugin, from }) => `${plugin.kind}:${plugin.name}@${from}`);
    expect(names).toEqual(expect.arrayContaining([
      'student:bert@@distillery/models', 'teacher:bert@@distillery/models', 'student:bilstm@@distillery/models',
      'loss:hinton@@distillery/loss-hinton', 'loss:pkd@@distillery/loss-pkd', 'loss:tinybert@@distillery/loss-tinybert',
      'loss:minilm@@distillery/loss-minilm', 'loss:distilbert-cosine@@distillery/loss-distilbert-cosine',
      'stage:teacher-assistant@@distillery/teacher-assistant',
    ]));
    expect(found).toHaveLength(9);
  });
});

describe('the official plugins, installed or not', () => {
  it('OFFICIAL_PLUGINS names, for every plugin of the installed @distillery packages, the package it comes from', async () => {
    const found = Object.fromEntries((await discoverPlugins()).map(({ plugin, from }) => [`${plugin.kind}:${plugin.name}`, from]));
    expect(found).toEqual(OFFICIAL_PLUGINS);
  });

  it('an official plugin name gets the package to install; any other name gets nothing', () => {
    expect(installHint('loss', 'tinybert')).toBe(
      'it comes from @distillery/loss-tinybert, which is not installed; install it: npm install @distillery/loss-tinybert');
    expect(installHint('stage', 'teacher-assistant')).toMatch(/install it: npm install @distillery\/teacher-assistant$/);
    expect(installHint('loss', 'tinybertt')).toBeUndefined();
    expect(installHint('mapping', 'tinybert')).toBeUndefined();
  });
});
