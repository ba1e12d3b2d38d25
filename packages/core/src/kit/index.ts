// @distillery/core/kit: the helpers plugin authors build losses and models with (tensor ops, shape
// checks that name the culprit, seeded initialisation, safetensors, atomic writes). The contracts,
// define*Plugin and the option schemas are at @distillery/core.
import '../setup.js';

export { embeddingLookup, hardLabelLoss, linear, maskedTokens, matMul2d } from '../ops.js';
export { seededLinear } from '../seeded-linear.js';
export type { SeededLinear } from '../seeded-linear.js';
export { assertRank, assertSameShape, requireFeature, requireLayer, shapeText } from '../internals/checks.js';
export type { TensorSite } from '../internals/checks.js';
export { decodeSafetensors, encodeSafetensors, halfToFloat } from '../io/safetensors.js';
export type { SafetensorsDtype, StoredTensor } from '../io/safetensors.js';
export { writeDirAtomic, writeFileAtomic } from '../io/atomic.js';
export { Rng } from '../internals/rng.js';
