// Each package must install and import on its own from its tarball, with only its declared dependencies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

describe('npm pack', () => {
  it('@distillery/loss-hinton installs from its tarball in an empty folder and computes a loss', () => {
    for (const pkg of ['core', 'loss-hinton']) {
      expect(existsSync(path.join(root, 'packages', pkg, 'dist', 'index.js')), `packages/${pkg}/dist is missing: run npm run build`).toBe(true);
    }
    const out = mkdtempSync(path.join(os.tmpdir(), 'distillery-pack-'));
    npm(['pack', '-w', '@distillery/core', '-w', '@distillery/loss-hinton', '--pack-destination', out], root);
    const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['distillery-core-0.1.0.tgz', 'distillery-loss-hinton-0.1.0.tgz']);
    const app = path.join(out, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Peer dependencies (@tensorflow/tfjs-core) are installed by npm itself; nothing else is added.
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((t) => path.join(out, t))], app);
    writeFileSync(path.join(app, 'main.js'), `
      import * as tf from '@tensorflow/tfjs-core';
      import { createDistillery, selectBackend, silentLogger } from '@distillery/core';
      import { hinton } from '@distillery/loss-hinton';
      await selectBackend('cpu', silentLogger);
      const d = createDistillery({ logger: silentLogger }).use(hinton);
      const loss = d.plugins.get('loss', 'hinton').create({ temperature: 1, softLoss: 'mse' }, {});
      const t = tf.tensor2d([[1, 2]]), s = tf.tensor2d([[0, 0]]);
      const r = loss.compute({ teacher: { logits: t }, student: { logits: s }, batch: {} });
      console.log(JSON.stringify({ soft: r.terms.soft.dataSync()[0] }));
    `);
    const printed = execFileSync('node', ['main.js'], { cwd: app, encoding: 'utf8' });
    // MSE of raw logits: ((1-0)^2 + (2-0)^2) / 2 = 2.5
    expect(JSON.parse(printed.trim().split('\n').at(-1)!)).toEqual({ soft: 2.5 });
  }, 300_000);
});
