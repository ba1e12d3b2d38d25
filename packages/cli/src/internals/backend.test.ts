import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeKernelsAvailable } from '@distillery/backend-native';
import { backendExtensions, selectCliBackend } from './backend.js';

const recorder = () => {
  const lines: string[] = [];
  return { lines, logger: { info: (m: string) => { lines.push(m); }, warn: (m: string) => { lines.push(`warn: ${m}`); } } };
};

describe('the CLI backend selection', () => {
  it('hands @distillery/backend-native to selectBackend when it is installed: the line says which kernels run', async () => {
    const [extension] = await backendExtensions();
    expect(extension).toMatchObject({ name: '@distillery/backend-native', backends: ['wasm'] });
    const { lines, logger } = recorder();
    const choice = await selectCliBackend('wasm', logger);
    expect(lines).toHaveLength(1);
    const available = nativeKernelsAvailable();
    if (available.available) {
      expect(lines[0]).toMatch(/^backend: wasm; native kernels: BatchMatMul, .*\(OpenBLAS /);
      expect(choice.extensions[0].replaced).toContain('BatchMatMul');
    } else {
      expect(lines[0]).toBe(`backend: wasm; native kernels: off, ${available.reason}; using the plain wasm kernels`);
    }
  });

  it('says on the backend line when the package is not installed, and changes no kernel', async () => {
    const pkg = '@distillery-test/no-such-native-package';
    const [extension] = await backendExtensions(pkg);
    const plain = tf.getKernel('BatchMatMul', 'wasm');
    expect(await extension.enable({ info: () => {}, warn: () => {} })).toEqual({
      replaced: [], line: `native kernels: off, ${pkg} is not installed (optional)`,
    });
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(plain);
  });

  describe('with DISTILLERY_NATIVE=0', () => {
    const saved = process.env.DISTILLERY_NATIVE;
    beforeAll(() => { process.env.DISTILLERY_NATIVE = '0'; });
    afterAll(() => { if (saved === undefined) delete process.env.DISTILLERY_NATIVE; else process.env.DISTILLERY_NATIVE = saved; });

    it('keeps the plain wasm kernels and says so', async () => {
      const { lines, logger } = recorder();
      const choice = await selectCliBackend('wasm', logger);
      expect(lines).toEqual(['backend: wasm; native kernels: off, disabled by DISTILLERY_NATIVE=0; using the plain wasm kernels']);
      expect(choice.extensions).toEqual([{ name: '@distillery/backend-native', replaced: [] }]);
    });
  });
});
