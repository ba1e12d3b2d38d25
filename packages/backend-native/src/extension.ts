import { enableNativeKernels, type NativeKernelOptions, type NativeLogger } from './enable.js';

/** What enabling the extension did (the shape of @distillery/core's BackendExtensionResult). */
export interface NativeKernelsExtensionResult {
  /** Kernels of the 'wasm' backend now running natively (empty when nothing changed). */
  replaced: string[];
  /** The one line enableNativeKernels wrote: which kernels, or why none (`native kernels: off, ...`). */
  line: string;
}

/**
 * These kernels as a backend extension for @distillery/core's selectBackend (the shape of its
 * BackendExtension, kept structural so this package needs core only for its tests).
 */
export interface NativeKernelsExtension {
  /** '@distillery/backend-native'. */
  readonly name: string;
  /** ['wasm']: the kernels work on the WebAssembly backend's heap. */
  readonly backends: readonly string[];
  /** Registers the kernels (enableNativeKernels); the line says which, or why none (DISTILLERY_NATIVE=0, no addon). */
  enable(logger: NativeLogger): NativeKernelsExtensionResult;
}

/**
 * The native kernels as a backend extension: `selectBackend('auto', { extensions: [nativeKernels()] })`
 * enables them when the backend is 'wasm'. `options` are enableNativeKernels' (kernels, threads).
 */
export function nativeKernels(options: Omit<NativeKernelOptions, 'logger'> = {}): NativeKernelsExtension {
  return {
    name: '@distillery/backend-native',
    backends: ['wasm'],
    enable(logger) {
      // enableNativeKernels writes exactly one info line (what it replaced, or why nothing): it becomes ours.
      let line = 'native kernels: off';
      const { replaced } = enableNativeKernels({ ...options, logger: { info: (m) => { line = m; }, warn: (m) => logger.warn(m) } });
      return { replaced, line };
    },
  };
}
