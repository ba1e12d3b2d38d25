export { distilbertCosine, distilbertCosineLoss, distilbertCosineOptions } from './distilbert-cosine-loss.js';
export type { DistilbertCosineEnv, DistilbertCosineOptions } from './distilbert-cosine-loss.js';
