import * as z from 'zod';
import { DistilleryError } from './errors.js';
import { defineMappingPlugin } from './plugins.js';
import { ALL_FEATURES, type Feature, type LayerMapping, type LayerPair } from './types.js';

/**
 * Layer mappings return indices into a feature's per-layer list. For `hidden` index 0 is the
 * embedding output and index i is layer i; for the attention-side features (scores, probs,
 * queries, keys, values) index 0 is layer 1. Mappings think in layers and convert here.
 */
export const hasEmbeddingEntry = (feature: Feature): boolean => feature === 'hidden';

const toIndex = (feature: Feature, layer: number): number => (hasEmbeddingEntry(feature) ? layer : layer - 1);

function checkCounts(name: string, n: number, m: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(m) || m < 1) {
    throw new DistilleryError(
      `${name} mapping: layer counts must be positive integers, got teacher ${n}, student ${m}`, 'mapping');
  }
  if (m > n) {
    throw new DistilleryError(
      `${name} mapping: the student has more layers (${m}) than the teacher (${n})`, 'mapping');
  }
}

function multiple(name: string, n: number, m: number): number {
  checkCounts(name, n, m);
  if (n % m !== 0) {
    throw new DistilleryError(
      `${name} mapping: teacher layers (${n}) must be a multiple of student layers (${m})`, 'mapping');
  }
  return n / m;
}

/** TinyBERT's uniform mapping: student layer i ↔ teacher layer i·N/M (hidden also pairs the embeddings, 0 ↔ 0). */
export function uniform(): LayerMapping {
  return {
    name: 'uniform',
    pairs(n, m, feature) {
      const k = multiple('uniform', n, m);
      const first = hasEmbeddingEntry(feature) ? 0 : 1;
      const pairs: LayerPair[] = [];
      for (let i = first; i <= m; i++) pairs.push({ student: toIndex(feature, i), teacher: toIndex(feature, i * k) });
      return pairs;
    },
  };
}

/** PKD-Skip: student layers 1..M−1 ↔ teacher layers i·N/M (12→6: 2, 4, 6, 8, 10). */
export function skip(): LayerMapping {
  return {
    name: 'skip',
    pairs(n, m, feature) {
      const k = multiple('skip', n, m);
      const pairs: LayerPair[] = [];
      for (let i = 1; i < m; i++) pairs.push({ student: toIndex(feature, i), teacher: toIndex(feature, i * k) });
      return pairs;
    },
  };
}

/** PKD-Last: student layers 1..M−1 ↔ teacher layers N−M+i (12→6: 7..11). */
export function last(): LayerMapping {
  return {
    name: 'last',
    pairs(n, m, feature) {
      checkCounts('last', n, m);
      const pairs: LayerPair[] = [];
      for (let i = 1; i < m; i++) pairs.push({ student: toIndex(feature, i), teacher: toIndex(feature, n - m + i) });
      return pairs;
    },
  };
}

/** MiniLM: the student's last layer ↔ the teacher's last layer (or `teacherLayer`, 1-based, for MiniLMv2). */
export function lastLayer(options: { teacherLayer?: number } = {}): LayerMapping {
  return {
    name: 'lastLayer',
    pairs(n, m, feature) {
      checkCounts('lastLayer', n, m);
      const t = options.teacherLayer ?? n;
      if (!Number.isInteger(t) || t < 1 || t > n) {
        throw new DistilleryError(
          `lastLayer mapping: teacherLayer must be an integer in 1..${n} (teacher layers), got ${t}`, 'mapping');
      }
      return [{ student: toIndex(feature, m), teacher: toIndex(feature, t) }];
    },
  };
}

/**
 * Pairs given as data: list indices in the feature's own convention, either one list for every
 * feature or a list per feature. Each index is checked against both models' layer counts.
 */
export function explicit(pairs: readonly LayerPair[] | Partial<Record<Feature, readonly LayerPair[]>>): LayerMapping {
  return {
    name: 'explicit',
    pairs(n, m, feature) {
      const list = Array.isArray(pairs) ? pairs : (pairs as Partial<Record<Feature, readonly LayerPair[]>>)[feature];
      if (!list) {
        throw new DistilleryError(`explicit mapping: no pairs given for feature '${feature}'`, 'mapping');
      }
      const extra = hasEmbeddingEntry(feature) ? 1 : 0;
      return list.map((p, i) => {
        for (const [side, value, count] of [['student', p.student, m], ['teacher', p.teacher, n]] as const) {
          if (!Number.isInteger(value) || value < 0 || value >= count + extra) {
            throw new DistilleryError(
              `explicit mapping: pairs[${i}].${side} = ${value} is out of range for feature '${feature}' ` +
              `(valid 0..${count + extra - 1}; teacher ${n} layers, student ${m} layers)`, 'mapping');
          }
        }
        return { student: p.student, teacher: p.teacher };
      });
    },
  };
}

const noOptions = z.strictObject({});
const layerPair = z.strictObject({
  student: z.int().min(0).meta({ description: "The student's list index in the feature." }),
  teacher: z.int().min(0).meta({ description: "The teacher's list index in the feature." }),
});
const layerPairs = z.array(layerPair);

/** Options of the 'lastLayer' mapping plugin. */
export const lastLayerOptions = z.strictObject({
  /** The teacher layer (1-based) the student's last layer learns from. @default the teacher's last */
  teacherLayer: z.int().min(1).optional().meta({ description: "The teacher layer (1-based) the student's last layer learns from. Default: the teacher's last." }),
});
/** Options of the 'explicit' mapping plugin. */
export const explicitOptions = z.strictObject({
  /** List indices, one list for every feature or a list per feature. */
  pairs: z.union([layerPairs, z.partialRecord(z.enum(ALL_FEATURES as [Feature, ...Feature[]]), layerPairs)])
    .meta({ description: 'Layer pairs (list indices): one list for every feature, or a list per feature.' }),
});

/** Mapping plugins for the built-ins. */
export const uniformMapping = defineMappingPlugin({ name: 'uniform', options: noOptions, create: () => uniform() });
export const skipMapping = defineMappingPlugin({ name: 'skip', options: noOptions, create: () => skip() });
export const lastMapping = defineMappingPlugin({ name: 'last', options: noOptions, create: () => last() });
export const lastLayerMapping = defineMappingPlugin({ name: 'lastLayer', options: lastLayerOptions, create: (o) => lastLayer(o) });
export const explicitMapping = defineMappingPlugin({ name: 'explicit', options: explicitOptions, create: (o) => explicit(o.pairs) });

/** All built-in mapping plugins. */
export const builtinMappings = [uniformMapping, skipMapping, lastMapping, lastLayerMapping, explicitMapping];
