export { minilm, minilmLoss } from './minilm-loss.js';
export type { MiniLmEnv, MiniLmOptions } from './minilm-loss.js';
