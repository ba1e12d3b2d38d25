export { distilbertCosine, distilbertCosineLoss } from './distilbert-cosine-loss.js';
export type { DistilbertCosineEnv, DistilbertCosineOptions } from './distilbert-cosine-loss.js';
