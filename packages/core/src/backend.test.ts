import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend, type Logger } from '@distillery/core';

const recorder = () => {
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
  return { lines, logger };
};

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
});
