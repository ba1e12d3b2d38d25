// The addon checks every range against the heap before touching it: bad offsets, sizes and indices
// throw instead of reading or writing outside the wasm memory.
import { expect, it } from 'vitest';
import { loadAddon } from './internals/addon.js';
import type { NativeAddon } from './internals/addon.js';
import { describeNative } from './kernels.test-util.js';

describeNative('native addon bounds checks', () => {
  const addon = (loadAddon() as { addon: NativeAddon }).addon;
  const heap = new ArrayBuffer(4096);
  const f = new Float32Array(heap);

  it('computes in place on the heap it is given', () => {
    f.set([1, 2, 3, 4], 0);          // A [2, 2]
    f.set([5, 6, 7, 8], 4);          // B [2, 2]
    addon.gemm(heap, 0, 16, 32, 1, 2, 2, 2, false, false, 1, 1, null, null);
    expect([...f.subarray(8, 12)]).toEqual([19, 22, 43, 50]);
    addon.gemm(heap, 0, 16, 32, 1, 2, 2, 2, true, true, 1, 1, null, null);
    expect([...f.subarray(8, 12)]).toEqual([23, 31, 34, 46]);
  });

  it('refuses ranges outside the heap, misaligned offsets and bad arguments', () => {
    const gemm = (...overrides: [number, unknown][]) => {
      const args: unknown[] = [heap, 0, 16, 32, 1, 2, 2, 2, false, false, 1, 1, null, null];
      for (const [i, v] of overrides) args[i] = v;
      return () => (addon.gemm as (...a: unknown[]) => void)(...args);
    };
    expect(gemm([3, 4096 - 8])).toThrow(/C: range .* is outside the heap of 4096 bytes/);
    expect(gemm([1, 4094])).toThrow(/not aligned/);
    expect(gemm([5, 1e6])).toThrow(/A: range/);
    expect(gemm([4, 2], [10, 3])).toThrow(/aBatches must be 1 or batch/);
    expect(gemm([4, 2], [12, Int32Array.from([0, 5])], [10, 2])).toThrow(/batch index outside its operand/);
    expect(gemm([4, 2], [12, new Int32Array(3)], [10, 2])).toThrow(/Int32Array of 2 elements/);
    expect(gemm([1, -4])).toThrow(/non-negative integer/);
    expect(gemm([1, 0.5])).toThrow(/non-negative integer/);
    expect(gemm([0, new Float32Array(4)])).toThrow(/ArrayBuffer/);
    expect(() => addon.reduceSum(heap, 0, 0, 1, 2000, 1, false)).toThrow(/x: range/);
    expect(() => addon.unary(99, heap, 0, 0, 1)).toThrow(/unknown unary op/);
    expect(() => addon.binary(0, heap, 0, 0, 0, Int32Array.from([9]))).toThrow(/rank must be 1-8/);
    expect(() => addon.binary(0, heap, 0, 0, 0, Int32Array.from([1, 2000, 1, 1]))).toThrow(/out: range/);
    expect(() => addon.transpose(heap, 0, 0, Int32Array.from([2, 2, 2, 0, 0]))).toThrow(/not a permutation/);
    expect(() => addon.gather(heap, 0, 0, 0, 1, 10, 2000, 1)).toThrow(/indices: range/);
    expect(() => addon.select(heap, 4095, 0, 0, 0, 2)).toThrow(/condition: range/);
    expect(() => addon.setThreads(0)).toThrow(/threads must be 1-256/);
  });
});
