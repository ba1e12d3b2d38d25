// The CLI installs without the optional plugin packages: with only @distillery/loss-hinton beside it,
// a pipeline using 'hinton' runs, and one using 'tinybert' fails (exit 2) naming the package to install.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packAndInstall, type PackedInstall } from './pack.test-util.js';

/** One tiny stage: an untrained 1-layer BERT teaches a 1-layer, hidden-8 student for 2 steps of synthetic data. */
const pipeline = (loss: string) => `
backend: wasm
seed: 3
data:
  train: { type: synthetic, numClasses: 2, vocabSize: 24, seqLength: 8, size: 16, seed: 1 }
models:
  teacher:
    type: bert
    config: { vocab_size: 24, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16, num_labels: 2 }
  student:
    type: bert
    config: { vocab_size: 24, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16, num_labels: 2 }
stages:
  - name: distil
    teacher: teacher
    student: student
    losses: [{ use: ${loss} }]
    data: { train: train }
    batchSize: 8
    maxSteps: 2
    optimizer: { learningRate: 0.01 }
`;

let packed: PackedInstall;
beforeAll(() => { packed = packAndInstall(['core', 'models', 'data', 'cli', 'loss-hinton']); }, 300_000);
afterAll(() => packed?.cleanup());

const distillery = (args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(packed.app, 'node_modules', '@distillery', 'cli', 'bin', 'distillery.js'), ...args],
    { cwd: packed.app, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('the CLI with only @distillery/loss-hinton installed', () => {
  it('installs none of the optional packages', () => {
    const installed = readdirSync(path.join(packed.app, 'node_modules', '@distillery')).sort();
    expect(installed).toEqual(['cli', 'core', 'data', 'loss-hinton', 'models']);
  });

  it("runs a pipeline using 'hinton', and says the native kernels are not installed", () => {
    writeFileSync(path.join(packed.app, 'hinton.yaml'), pipeline('hinton'));
    const run = distillery(['run', 'hinton.yaml', '--out', 'run-hinton', '--progress', 'plain', '--no-compare']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('backend: wasm; native kernels: off, @distillery/backend-native is not installed (optional)');
    expect(run.stdout).toMatch(/done in [\d.]+ s: 1 stage\(s\) completed/);
    expect(existsSync(path.join(packed.app, 'run-hinton', 'students', 'distil', 'model.safetensors'))).toBe(true);
  });

  it("fails a pipeline using 'tinybert' with exit 2 and the package to install", () => {
    writeFileSync(path.join(packed.app, 'tinybert.yaml'), pipeline('tinybert'));
    const run = distillery(['run', 'tinybert.yaml', '--out', 'run-tinybert', '--progress', 'plain']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("stages[0].losses[0].use: unknown loss plugin 'tinybert'; it comes from @distillery/loss-tinybert, " +
      'which is not installed; install it: npm install @distillery/loss-tinybert');
    expect(existsSync(path.join(packed.app, 'run-tinybert'))).toBe(false);
  });
});
