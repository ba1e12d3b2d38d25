import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, expect, it } from 'vitest';
import { NATIVE_KERNELS, disableNativeKernels, enableNativeKernels } from './index.js';
import { describeNative } from './kernels.test-util.js';

describeNative('enableNativeKernels', () => {
  afterEach(() => { disableNativeKernels(); });

  it('replaces the wasm kernels in profile order, logs one line, and disableNativeKernels puts the originals back', () => {
    const before = NATIVE_KERNELS.map((k) => tf.getKernel(k, 'wasm'));
    const lines: string[] = [];
    const result = enableNativeKernels({ logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) } });
    expect(result.replaced).toEqual([...NATIVE_KERNELS]);
    expect(result.replaced[0]).toBe('BatchMatMul');
    expect(result.threads).toBeGreaterThanOrEqual(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^native kernels: BatchMatMul, .* \(OpenBLAS \w+.*, \d+ threads?\)$/);
    const swapped = NATIVE_KERNELS.map((k) => tf.getKernel(k, 'wasm'));
    swapped.forEach((k, i) => {
      expect(k.kernelFunc).not.toBe(before[i].kernelFunc);
      expect(k.setupFunc).toBe(before[i].setupFunc);
    });
    expect(disableNativeKernels()).toEqual([...NATIVE_KERNELS]);
    NATIVE_KERNELS.forEach((k, i) => expect(tf.getKernel(k, 'wasm').kernelFunc).toBe(before[i].kernelFunc));
  });

  it('can be called twice without wrapping its own kernels, and replaces only the kernels asked for', async () => {
    const original = tf.getKernel('Sum', 'wasm').kernelFunc;
    const silent = { info: () => {}, warn: () => {} };
    enableNativeKernels({ logger: silent, kernels: ['BatchMatMul'] });
    expect(tf.getKernel('Sum', 'wasm').kernelFunc).toBe(original);
    enableNativeKernels({ logger: silent });
    enableNativeKernels({ logger: silent });
    disableNativeKernels();
    expect(tf.getKernel('Sum', 'wasm').kernelFunc).toBe(original);
    expect(() => enableNativeKernels({ logger: silent, kernels: ['Conv2D'] })).toThrow(/unknown kernel\(s\) Conv2D; known: BatchMatMul/);
  });

  it('works when enabled before tf.setBackend("wasm") (the kernels keep their setup functions)', async () => {
    await tf.setBackend('cpu');
    enableNativeKernels({ logger: { info: () => {}, warn: () => {} } });
    await tf.setBackend('wasm');
    const a = tf.tensor2d([[1, 2], [3, 4]]), b = tf.tensor2d([[5, 6], [7, 8]]);
    const c = tf.matMul(a, b, true, false);
    expect([...c.dataSync()]).toEqual([26, 30, 38, 44]);
    expect([...tf.sum(a, 0).dataSync()]).toEqual([4, 6]);
    tf.dispose([a, b, c]);
  });
});
