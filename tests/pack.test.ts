// Each package must install and import on its own from its tarball, with only its declared dependencies.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { packAndInstall } from './pack.test-util.js';

describe('npm pack', () => {
  it('@distillery/loss-hinton installs from its tarball in an empty folder and computes a loss', () => {
    const { tarballs, app, cleanup } = packAndInstall(['core', 'loss-hinton']);
    onTestFinished(cleanup);
    expect(tarballs).toEqual(['distillery-core-0.1.0.tgz', 'distillery-loss-hinton-0.1.0.tgz']);
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
