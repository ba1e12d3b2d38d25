export { NATIVE_KERNELS, disableNativeKernels, enableNativeKernels, nativeKernelsAvailable } from './enable.js';
export type { NativeKernelOptions, NativeKernelsResult, NativeLogger } from './enable.js';
