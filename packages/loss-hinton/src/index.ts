export { hinton, hintonLoss, hintonOptions } from './hinton-loss.js';
export type { HintonOptions } from './hinton-loss.js';
