export { minilm, minilmLoss, miniLmOptions } from './minilm-loss.js';
export type { MiniLmEnv, MiniLmOptions } from './minilm-loss.js';
