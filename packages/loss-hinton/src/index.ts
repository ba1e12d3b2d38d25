export { hinton, hintonLoss } from './hinton-loss.js';
export type { HintonOptions } from './hinton-loss.js';
