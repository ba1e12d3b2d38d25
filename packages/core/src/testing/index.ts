import '../setup.js';
export { expectClose, expectComputeLeavesNoTensors, expectRel, thrown, thrownWithoutLeaks } from './assertions.js';
export { MlpClassifier } from './mlp-classifier.js';
export type { MlpConfig } from './mlp-classifier.js';
export { mean, stepRecorder } from './steps.js';
export type { StepRecorder } from './steps.js';
export { syntheticTask } from './synthetic.js';
export type { SyntheticTaskOptions } from './synthetic.js';
