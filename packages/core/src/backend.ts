import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';

/** Which backend to run on: 'auto' takes the fastest one that loads. */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** What selectBackend chose and why it passed over the others. */
export interface BackendChoice {
  backend: string;
  skipped: { backend: string; reason: string }[];
  /** wasm kernels replaced by @distillery/backend-native's (empty when it is absent or off). */
  nativeKernels: string[];
}

// Held in variables so bundlers and tsc do not try to resolve the optional packages.
const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const NODE_CPU = '@tensorflow/tfjs-node';
const NATIVE = '@distillery/backend-native';

/**
 * Registers @distillery/backend-native's kernels on the wasm backend when that optional package is
 * installed; returns what they replaced and the line that says so (or why not).
 */
async function tryNativeKernels(): Promise<{ replaced: string[]; line: string }> {
  let native: { enableNativeKernels(options: { logger: Logger }): { replaced: string[] } };
  try {
    native = await import(NATIVE);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // Not found names the package itself; a missing file or dependency inside it is a load failure.
    const absent = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${NATIVE}'`);
    const why = absent ? `${NATIVE} is not installed (optional)` : `${NATIVE} failed to load: ${message}`;
    return { replaced: [], line: `native kernels: off, ${why}` };
  }
  // enableNativeKernels logs exactly one line (what it replaced, or why it changed nothing): keep it for ours.
  let line = 'native kernels: off';
  const capture: Logger = { info: (m) => { line = m; }, warn: (m) => { line = m; } };
  return { replaced: native.enableNativeKernels({ logger: capture }).replaced, line };
}

async function tryNode(pkg: string): Promise<string | undefined> {
  try {
    await import(pkg);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
      ? `${pkg} is not installed (optional; its install downloads libtensorflow)`
      : `${pkg} failed to load: ${(error as Error).message}`;
  }
  if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but the 'tensorflow' backend did not initialise`;
  return undefined;
}

async function tryWasm(): Promise<string | undefined> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${(error as Error).message}`;
  }
  try {
    if (!(await tf.setBackend('wasm'))) return `the wasm backend did not initialise`;
  } catch (error) {
    return `the wasm backend did not initialise: ${(error as Error).message}`;
  }
  return undefined;
}

async function tryCpu(): Promise<string | undefined> {
  return (await tf.setBackend('cpu')) ? undefined : 'the cpu backend did not initialise';
}

let selected = false;

/** Whether selectBackend() has run in this process. */
export const backendSelected = (): boolean => selected;

/**
 * Sets the TensorFlow.js backend. 'auto' tries @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node
 * (both optional, never dependencies), then the bundled WebAssembly backend, then the pure-JS CPU
 * backend, and logs which one it got and why it skipped the others.
 */
export async function selectBackend(preference: BackendPreference = 'auto', logger: Logger = consoleLogger): Promise<BackendChoice> {
  const candidates: Record<Exclude<BackendPreference, 'auto'>, [string, () => Promise<string | undefined>][]> = {
    tensorflow: [['tensorflow-gpu', () => tryNode(NODE_GPU)], ['tensorflow', () => tryNode(NODE_CPU)]],
    wasm: [['wasm', tryWasm]],
    cpu: [['cpu', tryCpu]],
  };
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(preference)) {
    throw new DistilleryError(
      `selectBackend: unknown backend ${JSON.stringify(preference)}; expected 'auto', 'tensorflow', 'wasm' or 'cpu'`, 'config');
  }
  // The tfjs "install tfjs-node" banner is replaced by our own line below.
  tf.enableProdMode();
  const order = preference === 'auto'
    ? [...candidates.tensorflow, ...candidates.wasm, ...candidates.cpu]
    : candidates[preference];
  const skipped: BackendChoice['skipped'] = [];
  for (const [name, attempt] of order) {
    const reason = await attempt();
    if (reason === undefined) {
      const why = skipped.length ? ` (skipped ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})` : '';
      const native = tf.getBackend() === 'wasm' ? await tryNativeKernels() : undefined;
      logger.info(`backend: ${tf.getBackend()}${why}${native ? `; ${native.line}` : ''}`);
      selected = true;
      return { backend: tf.getBackend(), skipped, nativeKernels: native?.replaced ?? [] };
    }
    skipped.push({ backend: name, reason });
  }
  throw new DistilleryError(
    `selectBackend('${preference}'): no backend could be used: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
    'backend');
}
