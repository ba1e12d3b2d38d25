export { NATIVE_KERNELS, disableNativeKernels, enableNativeKernels, nativeKernelsAvailable } from './enable.js';
export type { NativeKernelOptions, NativeKernelsResult, NativeLogger } from './enable.js';
export { nativeKernels } from './extension.js';
export type { NativeKernelsExtension, NativeKernelsExtensionResult } from './extension.js';
