import * as tf from '@tensorflow/tfjs-core';
import { DistilleryError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';

/** Which backend to run on: 'auto' takes the fastest one that loads. */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** What a backend extension did when it was enabled. */
export interface BackendExtensionResult {
  /** Kernels it replaced on the backend (empty when it changed nothing). */
  replaced: string[];
  /** One line for the backend log: what runs now, or why nothing changed (`native kernels: off, ...`). */
  line: string;
}

/**
 * Kernels registered on a backend from outside core, e.g. `nativeKernels()` of @distillery/backend-native.
 * selectBackend enables it when it lands on one of `backends`; core never imports one by name.
 */
export interface BackendExtension {
  /** Who it is, for the log and errors: its package name. */
  readonly name: string;
  /** The backends it extends ('wasm'); on any other, it is left alone. */
  readonly backends: readonly string[];
  /** Registers its kernels on the backend just selected; `logger` takes anything beyond the one line it returns. */
  enable(logger: Logger): BackendExtensionResult | Promise<BackendExtensionResult>;
}

/** Options of selectBackend. */
export interface SelectBackendOptions {
  /** Where the one line about the choice goes. @default consoleLogger */
  logger?: Logger;
  /** Extensions enabled, in order, when the chosen backend is one of theirs. @default [] */
  extensions?: readonly BackendExtension[];
}

/** What selectBackend chose and why it passed over the others. */
export interface BackendChoice {
  backend: string;
  skipped: { backend: string; reason: string }[];
  /** The extensions enabled on the chosen backend and the kernels each replaced. */
  extensions: { name: string; replaced: string[] }[];
}

// Held in variables so bundlers and tsc do not try to resolve the optional packages.
const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const NODE_CPU = '@tensorflow/tfjs-node';

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

const isLogger = (x: unknown): x is Logger => typeof (x as Logger)?.info === 'function';

/** The extensions, checked: each must be `{ name, backends, enable }` (they come from outside, often from a config). */
function checkExtensions(extensions: unknown): void {
  if (!Array.isArray(extensions)) {
    throw new DistilleryError(`selectBackend: options.extensions must be a list of backend extensions, got ${typeof extensions}`, 'config');
  }
  extensions.forEach((e: Partial<BackendExtension> | null, i) => {
    if (typeof e?.name !== 'string' || !Array.isArray(e.backends) || typeof e.enable !== 'function') {
      throw new DistilleryError(
        `selectBackend: options.extensions[${i}] is not a backend extension (expected { name, backends, enable })`, 'config');
    }
  });
}

/** Enables the extensions of `backend`; a throw names the extension (a failed load is theirs to report as a line). */
async function enableExtensions(backend: string, extensions: readonly BackendExtension[], logger: Logger) {
  const enabled: { name: string; replaced: string[]; line: string }[] = [];
  for (const extension of extensions.filter((e) => e.backends.includes(backend))) {
    try {
      enabled.push({ name: extension.name, ...await extension.enable(logger) });
    } catch (error) {
      throw new DistilleryError(
        `selectBackend: backend extension '${extension.name}' failed on ${backend}: ${(error as Error).message}`, 'backend');
    }
  }
  return enabled;
}

/**
 * Sets the TensorFlow.js backend. 'auto' tries @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node
 * (both optional, never dependencies), then the bundled WebAssembly backend, then the pure-JS CPU
 * backend, enables the extensions given for the one it got (native kernels), and logs one line: which
 * backend, why it skipped the others, and what each extension did. The second argument may be a Logger.
 */
export async function selectBackend(preference: BackendPreference = 'auto',
  options: SelectBackendOptions | Logger = {}): Promise<BackendChoice> {
  const { logger = consoleLogger, extensions = [] } = isLogger(options) ? { logger: options } : options;
  const candidates: Record<Exclude<BackendPreference, 'auto'>, [string, () => Promise<string | undefined>][]> = {
    tensorflow: [['tensorflow-gpu', () => tryNode(NODE_GPU)], ['tensorflow', () => tryNode(NODE_CPU)]],
    wasm: [['wasm', tryWasm]],
    cpu: [['cpu', tryCpu]],
  };
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(preference)) {
    throw new DistilleryError(
      `selectBackend: unknown backend ${JSON.stringify(preference)}; expected 'auto', 'tensorflow', 'wasm' or 'cpu'`, 'config');
  }
  checkExtensions(extensions);
  // The tfjs "install tfjs-node" banner is replaced by our own line below.
  tf.enableProdMode();
  const order = preference === 'auto'
    ? [...candidates.tensorflow, ...candidates.wasm, ...candidates.cpu]
    : candidates[preference];
  const skipped: BackendChoice['skipped'] = [];
  for (const [name, attempt] of order) {
    const reason = await attempt();
    if (reason === undefined) {
      const backend = tf.getBackend();
      const why = skipped.length ? ` (skipped ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})` : '';
      const enabled = await enableExtensions(backend, extensions, logger);
      logger.info(`backend: ${backend}${why}${enabled.map((e) => `; ${e.line}`).join('')}`);
      selected = true;
      return { backend, skipped, extensions: enabled.map(({ name: n, replaced }) => ({ name: n, replaced })) };
    }
    skipped.push({ backend: name, reason });
  }
  throw new DistilleryError(
    `selectBackend('${preference}'): no backend could be used: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
    'backend');
}
