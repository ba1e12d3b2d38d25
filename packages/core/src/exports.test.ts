// The public surface: @distillery/core holds the contracts, plugins and their option schemas, stages,
// mappings, metrics, checkpoints and backends; @distillery/core/kit the helpers plugins are built with;
// the DI container and its tokens stay inside core.
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as core from '@distillery/core';
import * as kit from '@distillery/core/kit';

const KIT = [
  'Rng', 'assertRank', 'assertSameShape', 'decodeSafetensors', 'embeddingLookup', 'encodeSafetensors', 'halfToFloat',
  'hardLabelLoss', 'linear', 'maskedTokens', 'matMul2d', 'requireFeature', 'requireLayer', 'seededLinear', 'shapeText', 'writeDirAtomic',
  'writeFileAtomic',
];

describe('public surface', () => {
  it('the kit holds the plugin-building helpers, and only there', () => {
    expect(Object.keys(kit).sort()).toEqual([...KIT].sort());
    for (const name of KIT) expect(core, name).not.toHaveProperty(name);
  });

  it('core keeps the contracts and plugin API, not the DI container, its tokens or the training loop class', () => {
    for (const name of ['createDistillery', 'defineLossPlugin', 'parseOptions', 'ConfigError', 'optimizerSchema', 'uniform', 'evaluate', 'selectBackend']) {
      expect(core, name).toHaveProperty(name);
    }
    for (const name of ['PluginRegistry', 'Distiller', 'Pipeline', 'LossPlugins', 'StageToken', 'LoggerToken', 'checkNumberOption', 'checkChoiceOption']) {
      expect(core, name).not.toHaveProperty(name);
    }
    expectTypeOf<core.Distillery>().not.toHaveProperty('container');
  });

  it('package.json exports the kit entry beside the main and testing ones', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual(['.', './kit', './testing']);
    expect(pkg.exports['./kit']).toEqual({ types: './dist/kit/index.d.ts', default: './dist/kit/index.js' });
  });
});
