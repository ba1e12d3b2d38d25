// Per-kernel time of one call of `fn`, from tf.profile (each kernel timed synchronously by the backend).
import * as tf from '@tensorflow/tfjs-core';

export interface KernelProfile {
  /** Kernel calls in the profiled call. */
  calls: number;
  /** Sum of kernel times, ms. */
  kernelMs: number;
  /** Top kernels by total time. */
  top: { kernel: string; ms: number; calls: number; share: number }[];
}

export async function profileKernels(fn: () => unknown, topN = 10): Promise<KernelProfile> {
  const info = await tf.profile(() => { fn(); });
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    // customGrad forwards show up as 'unnamed scope' around kernels that are also listed themselves.
    if (k.name === 'unnamed scope') continue;
    const ms = Number(await k.kernelTimeMs) || 0;
    total += ms;
    const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byName.set(k.name, entry);
  }
  const top = [...byName.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, topN)
    .map(([kernel, { ms, calls }]) => ({ kernel, ms: round(ms), calls, share: round(ms / total, 3) }));
  return { calls: info.kernels.filter((k) => k.name !== 'unnamed scope').length, kernelMs: round(total), top };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
