export { tinybert, tinybertLoss, tinybertOptions } from './tinybert-loss.js';
export { tinybertPresets } from './presets.js';
export type { TinybertEnv, TinybertLoss, TinybertOptions } from './tinybert-loss.js';
export type { TinybertLayers } from './internals/pairs.js';
export type { TeacherHeads } from './internals/heads.js';
