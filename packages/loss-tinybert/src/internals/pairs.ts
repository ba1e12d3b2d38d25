import {
  DistilleryError, explicit, uniform, type Feature, type LayerMapping, type LayerPair, type ModelInfo,
} from '@distillery/core';

/** Pairs given per feature, as list indices (hidden index 0 = embeddings; attention index 0 = layer 1). */
export interface TinybertLayers {
  hidden: LayerPair[];
  attentionScores: LayerPair[];
}

/**
 * The pairs of one feature: from `layers` when given, else the stage's mapping, else TinyBERT's uniform
 * mapping (k = N/M must be an integer). Failures are rethrown naming the loss and the feature.
 */
export function featurePairs(who: string, feature: Feature, teacher: ModelInfo, student: ModelInfo,
  layers: TinybertLayers | undefined, stageMapping: LayerMapping | undefined): LayerPair[] {
  const mapping = layers ? explicit(layers) : stageMapping ?? uniform();
  const [n, m] = [teacher.numLayers, student.numLayers];
  let pairs: LayerPair[];
  try {
    pairs = mapping.pairs(n, m, feature);
  } catch (error) {
    throw new DistilleryError(`${who}: feature '${feature}': cannot pair the teacher's ${n} layers with the student's ${m}: ` +
      `${(error as Error).message}`, 'mapping', { cause: error });
  }
  if (pairs.length === 0) {
    throw new DistilleryError(`${who}: feature '${feature}': mapping '${mapping.name}' gives no layer pairs ` +
      `(teacher ${n} layers, student ${m})`, 'mapping');
  }
  return pairs;
}
