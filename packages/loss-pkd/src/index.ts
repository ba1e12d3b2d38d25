export { pkd, pkdLoss, pkdOptions } from './pkd-loss.js';
export { pkdPaperLosses, pkdPaperOptions } from './presets.js';
export type { PkdEnv, PkdLoss, PkdOptions } from './pkd-loss.js';
export type { PkdPaperOptions } from './presets.js';
