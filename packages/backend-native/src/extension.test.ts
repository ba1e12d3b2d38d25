// nativeKernels() handed to core's selectBackend: the one backend line says which kernels run.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendExtension, type Logger } from '@distillery/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_KERNELS, disableNativeKernels, nativeKernels } from './index.js';
import { describeNative } from './kernels.test-util.js';

const recorder = () => {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`) };
  return { lines, logger };
};

// Also a type check: the extension fits core's contract without this package depending on core.
const extension: BackendExtension = nativeKernels();

describeNative('selectBackend with nativeKernels()', () => {
  afterEach(() => { disableNativeKernels(); });

  it("enables every native kernel on 'wasm' and logs them on the backend line", async () => {
    const plain = tf.getKernel('BatchMatMul', 'wasm');
    const { lines, logger } = recorder();
    const choice = await selectBackend('wasm', { logger, extensions: [extension] });
    expect(choice.extensions).toEqual([{ name: '@distillery/backend-native', replaced: [...NATIVE_KERNELS] }]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backend: wasm; native kernels: BatchMatMul, Sum, .* \(OpenBLAS \w+.*, \d+ threads?\)$/);
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).not.toBe(plain.kernelFunc);
    const c = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    expect([...c.dataSync()]).toEqual([19, 22, 43, 50]);
    tf.dispose(c);
  });

  it('passes its options on (only the kernels asked for), and is left alone on cpu', async () => {
    const { lines, logger } = recorder();
    const sum = tf.getKernel('Sum', 'wasm').kernelFunc;
    const choice = await selectBackend('wasm', { logger, extensions: [nativeKernels({ kernels: ['BatchMatMul'], threads: 1 })] });
    expect(choice.extensions).toEqual([{ name: '@distillery/backend-native', replaced: ['BatchMatMul'] }]);
    expect(lines[0]).toMatch(/^backend: wasm; native kernels: BatchMatMul \(OpenBLAS \w+.*, 1 thread/);
    expect(tf.getKernel('Sum', 'wasm').kernelFunc).toBe(sum);
    expect((await selectBackend('cpu', { logger, extensions: [extension] })).extensions).toEqual([]);
    expect(lines[1]).toBe('backend: cpu');
  });
});

describe('selectBackend with nativeKernels() under DISTILLERY_NATIVE=0', () => {
  const saved = process.env.DISTILLERY_NATIVE;
  beforeAll(() => { process.env.DISTILLERY_NATIVE = '0'; });
  afterAll(() => { if (saved === undefined) delete process.env.DISTILLERY_NATIVE; else process.env.DISTILLERY_NATIVE = saved; });

  it('keeps the plain wasm kernels and says so on the backend line', async () => {
    const plain = tf.getKernel('BatchMatMul', 'wasm');
    const { lines, logger } = recorder();
    const choice = await selectBackend('wasm', { logger, extensions: [nativeKernels()] });
    expect(choice).toEqual({ backend: 'wasm', skipped: [], extensions: [{ name: '@distillery/backend-native', replaced: [] }] });
    expect(lines).toEqual(['backend: wasm; native kernels: off, disabled by DISTILLERY_NATIVE=0; using the plain wasm kernels']);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(plain);
  });
});
