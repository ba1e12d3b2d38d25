// Without the addon (simulated with DISTILLERY_NATIVE=0, read when the addon is first looked for),
// enableNativeKernels logs one line saying why and changes nothing. Runs on every machine.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableNativeKernels, nativeKernelsAvailable } from './index.js';
import { addonCandidates, loadAddonFrom } from './internals/addon.js';

describe('enableNativeKernels without the addon', () => {
  const saved = process.env.DISTILLERY_NATIVE;
  beforeAll(() => { process.env.DISTILLERY_NATIVE = '0'; });
  afterAll(() => { if (saved === undefined) delete process.env.DISTILLERY_NATIVE; else process.env.DISTILLERY_NATIVE = saved; });

  it('logs one line with the reason and leaves the wasm kernels alone', () => {
    const before = tf.getKernel('BatchMatMul', 'wasm');
    const lines: string[] = [];
    const result = enableNativeKernels({ logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) } });
    expect(result).toEqual({ replaced: [], reason: 'disabled by DISTILLERY_NATIVE=0' });
    expect(lines).toEqual(['native kernels: off, disabled by DISTILLERY_NATIVE=0; using the plain wasm kernels']);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(before);
    expect(nativeKernelsAvailable()).toEqual({ available: false, reason: 'disabled by DISTILLERY_NATIVE=0' });
  });

  it('says which file failed to load and why', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-native-'));
    expect(addonCandidates(dir)).toEqual([]);
    expect(loadAddonFrom(dir)).toEqual({ error: expect.stringMatching(/^the addon is not built \(no build\/Release\/\*\.node under /) });
    const release = path.join(dir, 'build', 'Release');
    mkdirSync(release, { recursive: true });
    writeFileSync(path.join(release, 'broken.node'), 'not an ELF file');
    expect(loadAddonFrom(dir)).toEqual({ error: expect.stringMatching(/^the addon failed to load \(build\/Release\/broken\.node: .+\)$/) });
  });
});
