import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { loadAddon } from './internals/addon.js';
import type { NativeAddon } from './internals/addon.js';
import { batchMatMulKernel } from './kernels/batch-mat-mul.js';
import { BINARY_OPS, binaryKernel } from './kernels/binary.js';
import { COMPARE_OPS, compareKernel, selectKernel } from './kernels/compare.js';
import { gatherKernel } from './kernels/gather.js';
import { reduceKernel } from './kernels/reduce.js';
import { identityKernel, transposeKernel } from './kernels/transpose.js';
import { UNARY_OPS, unaryKernel } from './kernels/unary.js';

/** Where enableNativeKernels writes its one line (the shape of @distillery/core's Logger). */
export interface NativeLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Options of enableNativeKernels. */
export interface NativeKernelOptions {
  /** Where the one line about what happened goes. @default console, prefixed with [distillery] */
  logger?: NativeLogger;
  /** Replace only these kernels (names from NATIVE_KERNELS). @default all of NATIVE_KERNELS */
  kernels?: readonly string[];
  /** Threads the addon splits work over. @default DISTILLERY_NATIVE_THREADS, else the CPUs this process may use */
  threads?: number;
}

/** What enableNativeKernels did. */
export interface NativeKernelsResult {
  /** Kernels of the 'wasm' backend now running natively (empty when nothing changed). */
  replaced: string[];
  /** Why nothing changed, when nothing did. */
  reason?: string;
  /** Threads of the addon's pool. */
  threads?: number;
  /** The processor kernel OpenBLAS picked (OPENBLAS_CORETYPE overrides it). */
  blasCore?: string;
}

type Factory = (addon: NativeAddon, original: KernelFunc) => KernelFunc;

/** Kernels this package can replace, most valuable first (the order of the distillation step's profile). */
const FACTORIES: Record<string, Factory> = {
  BatchMatMul: batchMatMulKernel,
  Sum: (addon, original) => reduceKernel(addon, original, false),
  Erf: (addon, original) => unaryKernel(addon, original, UNARY_OPS.Erf),
  GatherV2: gatherKernel,
  Transpose: transposeKernel,
  Identity: (_addon, original) => identityKernel(original),
  Mean: (addon, original) => reduceKernel(addon, original, true),
  ...Object.fromEntries(Object.entries(BINARY_OPS).map(([name, op]) =>
    [name, (addon: NativeAddon, original: KernelFunc) => binaryKernel(addon, original, op)])),
  ...Object.fromEntries(Object.entries(COMPARE_OPS).map(([name, op]) =>
    [name, (addon: NativeAddon, original: KernelFunc) => compareKernel(addon, original, op)])),
  Select: selectKernel,
  ...Object.fromEntries((['Exp', 'Sqrt', 'Rsqrt', 'Square', 'Tanh', 'Neg'] as const).map((name) =>
    [name, (addon: NativeAddon, original: KernelFunc) => unaryKernel(addon, original, UNARY_OPS[name])])),
};

/** Names of the kernels enableNativeKernels can replace. */
export const NATIVE_KERNELS: readonly string[] = Object.keys(FACTORIES);

const consoleLogger: NativeLogger = {
  info: (m) => console.log(`[distillery] ${m}`),
  warn: (m) => console.warn(`[distillery] ${m}`),
};

/** The wasm backend's own kernels, kept while ours are registered. */
const originals = new Map<string, KernelConfig>();

/**
 * Registers native (N-API + OpenBLAS) kernels on the 'wasm' backend in place of its own, keeping each
 * original's setup and falling back to it for what the native kernel does not cover (e.g. int32).
 * Call after importing @tensorflow/tfjs-backend-wasm; before or after tf.setBackend('wasm') both work.
 * When the addon is not built or does not load, logs one line saying why and changes nothing.
 */
export function enableNativeKernels({ logger = consoleLogger, kernels = NATIVE_KERNELS, threads }: NativeKernelOptions = {}): NativeKernelsResult {
  const loaded = loadAddon();
  if ('error' in loaded) {
    const reason = loaded.error;
    logger.info(`native kernels: off, ${reason}; using the plain wasm kernels`);
    return { replaced: [], reason };
  }
  const { addon } = loaded;
  const unknown = kernels.filter((k) => !(k in FACTORIES));
  if (unknown.length) {
    throw new Error(`enableNativeKernels: unknown kernel(s) ${unknown.join(', ')}; known: ${NATIVE_KERNELS.join(', ')}`);
  }
  if (!tf.getKernel('BatchMatMul', 'wasm')) {
    const reason = 'the wasm backend\'s kernels are not registered (import @tensorflow/tfjs-backend-wasm first)';
    logger.info(`native kernels: off, ${reason}`);
    return { replaced: [], reason };
  }
  if (threads !== undefined) addon.setThreads(threads);
  const replaced: string[] = [];
  for (const name of kernels) {
    const current = tf.getKernel(name, 'wasm');
    if (!current) continue;
    const original = originals.get(name) ?? current;
    originals.set(name, original);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...original, kernelFunc: FACTORIES[name](addon, original.kernelFunc) });
    replaced.push(name);
  }
  const { threads: poolThreads, blasCore } = addon.info();
  const coretype = process.env.OPENBLAS_CORETYPE ? `, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE}` : '';
  logger.info(`native kernels: ${replaced.join(', ')} (OpenBLAS ${blasCore}${coretype}, ${poolThreads} threads)`);
  return { replaced, threads: poolThreads, blasCore };
}

/** Puts the wasm backend's own kernels back (those replaced by enableNativeKernels); returns their names. */
export function disableNativeKernels(): string[] {
  const restored = [...originals.keys()];
  for (const [name, original] of originals) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  }
  originals.clear();
  return restored;
}

/** Whether the addon is built and loads here, and if not, why. */
export function nativeKernelsAvailable(): { available: true; file: string } | { available: false; reason: string } {
  const loaded = loadAddon();
  return 'error' in loaded ? { available: false, reason: loaded.error } : { available: true, file: loaded.file };
}
