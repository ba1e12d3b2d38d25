export { pkd, pkdLoss } from './pkd-loss.js';
export { pkdPaperLosses } from './presets.js';
export type { PkdEnv, PkdLoss, PkdOptions } from './pkd-loss.js';
export type { PkdPaperOptions } from './presets.js';
