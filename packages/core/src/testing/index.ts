import '../setup.js';
export { MlpClassifier } from './mlp-classifier.js';
export type { MlpConfig } from './mlp-classifier.js';
export { syntheticTask } from './synthetic.js';
export type { SyntheticTaskOptions } from './synthetic.js';
