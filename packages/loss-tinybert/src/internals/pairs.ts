import {
  DistilleryError, explicit, uniform, type Feature, type LayerMapping, type LayerPair, type ModelInfo,
} from '@distillery/core';

/** Pairs given per feature, as list indices (hidden index 0 = embeddings; attention index 0 = layer 1). */
export interface TinybertLayers {
  hidden: LayerPair[];
  attentionScores: LayerPair[];
}

const FEATURES = ['hidden', 'attentionScores'] as const satisfies readonly (keyof TinybertLayers)[];

/** Checks the `layers` option's shape (both features, no stray keys); the pairs' ranges are checked by core's explicit(). */
export function checkLayersOption(who: string, value: unknown): TinybertLayers {
  const bad = (why: string) => new DistilleryError(
    `${who}: option 'layers' ${why} (expected { hidden: [{ student, teacher }, ...], attentionScores: [...] }), got ` +
    `${JSON.stringify(value)}`, 'config');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('must be an object of pairs per feature');
  const stray = Object.keys(value).filter((k) => !(FEATURES as readonly string[]).includes(k));
  if (stray.length) throw bad(`has unknown key${stray.length > 1 ? 's' : ''} ${stray.map((k) => `'${k}'`).join(', ')}`);
  for (const f of FEATURES) {
    const list = (value as Record<string, unknown>)[f];
    if (!Array.isArray(list)) throw bad(`needs a list of pairs for '${f}'`);
  }
  return value as TinybertLayers;
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
