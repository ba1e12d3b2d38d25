import {
  selectBackend, type BackendChoice, type BackendExtension, type BackendPreference, type Logger,
} from '@distillery/core';

/** The optional package of native kernels (a variable, so that tsc and bundlers do not resolve it). */
export const NATIVE_PACKAGE = '@distillery/backend-native';

/** An extension that changes nothing and says on the backend line why the native kernels are off. */
const off = (pkg: string, why: string): BackendExtension =>
  ({ name: pkg, backends: ['wasm'], enable: () => ({ replaced: [], line: `native kernels: off, ${why}` }) });

/**
 * The CLI's backend extensions: `nativeKernels()` of @distillery/backend-native when that optional
 * package is installed (it honours DISTILLERY_NATIVE=0 itself); otherwise a stand-in whose only effect
 * is the reason on the `backend: wasm; native kernels: off, ...` line.
 */
export async function backendExtensions(pkg = NATIVE_PACKAGE): Promise<BackendExtension[]> {
  let native: { nativeKernels?: () => BackendExtension };
  try {
    native = await import(pkg);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // Not found names the package itself; a missing file or dependency inside it is a load failure.
    const absent = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${pkg}'`);
    return [off(pkg, absent ? `${pkg} is not installed (optional)` : `${pkg} failed to load: ${message}`)];
  }
  if (typeof native.nativeKernels !== 'function') return [off(pkg, `${pkg} exports no nativeKernels() (an older version? update it)`)];
  return [native.nativeKernels()];
}

/** selectBackend with the CLI's extensions: its one log line says which backend and which kernels run. */
export async function selectCliBackend(preference: BackendPreference, logger: Logger): Promise<BackendChoice> {
  return selectBackend(preference, { logger, extensions: await backendExtensions() });
}
