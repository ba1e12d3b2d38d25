import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendSelected, createDistillery, selectBackend, type BackendExtension, type Logger } from '@distillery/core';

const recorder = () => {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
  return { lines, logger };
};

/**
 * A real backend extension: wraps `backend`'s Neg kernel so that its calls are counted. `restore`
 * collects how to put the original back.
 */
function countNeg(backend: string, calls: { n: number }, restore: (() => void)[]): BackendExtension {
  return {
    name: `count-neg-${backend}`, backends: [backend],
    enable: () => {
      const original = tf.getKernel('Neg', backend);
      tf.unregisterKernel('Neg', backend);
      tf.registerKernel({ ...original, kernelFunc: (args) => { calls.n++; return original.kernelFunc(args); } });
      restore.push(() => { tf.unregisterKernel('Neg', backend); tf.registerKernel(original); });
      return { replaced: ['Neg'], line: `counted kernels: Neg on ${backend}` };
    },
  };
}

// First in this file: createDistillery selects the backend on its first run only when none was selected.
describe('createDistillery({ backendExtensions })', () => {
  it('passes its extensions to the backend selection of its first run', async () => {
    expect(backendSelected()).toBe(false);
    const { lines, logger } = recorder();
    const calls = { n: 0 }, restore: (() => void)[] = [];
    try {
      await createDistillery({ logger, backend: 'wasm', backendExtensions: [countNeg('wasm', calls, restore)] }).run([]);
      expect(lines).toEqual(['backend: wasm; counted kernels: Neg on wasm']);
      const y = tf.neg(tf.tensor1d([1, -2]));
      expect(Array.from(y.dataSync())).toEqual([-1, 2]);
      expect(calls.n).toBe(1);
      tf.dispose(y);
    } finally {
      restore.forEach((r) => r());
    }
  });
});

describe('selectBackend', () => {
  it("'auto' skips the absent tfjs-node packages, says why, and lands on wasm", async () => {
    const { lines, logger } = recorder();
    const choice = await selectBackend('auto', logger);
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(choice.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backend: wasm \(skipped tensorflow-gpu: .*; tensorflow: @tensorflow\/tfjs-node is not installed/);
    // The wasm backend computes, and has gradients registered.
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, 2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
  });

  it("'cpu' takes the pure-JS backend; 'tensorflow' fails with both reasons", async () => {
    const { logger } = recorder();
    expect((await selectBackend('cpu', logger)).backend).toBe('cpu');
    await expect(selectBackend('tensorflow', logger)).rejects.toThrow(
      /no backend could be used: tensorflow-gpu: @tensorflow\/tfjs-node-gpu is not installed.*tensorflow: @tensorflow\/tfjs-node is not installed/);
    await expect(selectBackend('gpu' as never, logger)).rejects.toThrow(/unknown backend "gpu"/);
  });

  it('enables only the extensions of the chosen backend, in order, and says what each did on the one line', async () => {
    const { lines, logger } = recorder();
    const onWasm = { n: 0 }, onCpu = { n: 0 }, restore: (() => void)[] = [];
    const cpuNeg = tf.getKernel('Neg', 'cpu');
    const silentExtension: BackendExtension = { name: 'off', backends: ['wasm'], enable: async () => ({ replaced: [], line: 'off kernels: none' }) };
    try {
      const choice = await selectBackend('wasm', {
        logger, extensions: [countNeg('wasm', onWasm, restore), countNeg('cpu', onCpu, restore), silentExtension],
      });
      expect(choice).toEqual({
        backend: 'wasm', skipped: [], extensions: [{ name: 'count-neg-wasm', replaced: ['Neg'] }, { name: 'off', replaced: [] }],
      });
      expect(lines).toEqual(['backend: wasm; counted kernels: Neg on wasm; off kernels: none']);
      expect(tf.getKernel('Neg', 'cpu')).toBe(cpuNeg);
      tf.dispose(tf.neg(tf.scalar(3)));
      expect(onWasm.n).toBe(1);
      // On cpu the wasm extension is left alone.
      expect((await selectBackend('cpu', { logger, extensions: [countNeg('wasm', onWasm, restore)] })).extensions).toEqual([]);
      expect(lines[1]).toBe('backend: cpu');
      expect(restore).toHaveLength(1);
    } finally {
      restore.forEach((r) => r());
    }
  });

  it('refuses what is not an extension, and names an extension that throws', async () => {
    const { logger } = recorder();
    await expect(selectBackend('cpu', { logger, extensions: [{ name: 'x', enable: () => ({}) } as never] })).rejects.toThrow(
      'selectBackend: options.extensions[0] is not a backend extension (expected { name, backends, enable })');
    const broken: BackendExtension = { name: 'broken', backends: ['cpu'], enable: () => { throw new Error('no kernels here'); } };
    await expect(selectBackend('cpu', { logger, extensions: [broken] })).rejects.toThrow(
      "selectBackend: backend extension 'broken' failed on cpu: no kernels here");
  });
});
