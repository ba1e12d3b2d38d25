import { DistilleryError, type ModelShape } from '@distillery/core';

export type { ModelShape } from '@distillery/core';

/** One assistant's sizes; heads and the feed-forward width may be left out (the chain fills them in, see `planAssistants`). */
export type AssistantShape = ModelShape;

/** An assistant with every size decided. */
export type ResolvedAssistantShape = Required<ModelShape>;

/** The keys of a shape, as options and errors name them. */
export const SHAPE_KEYS: readonly (keyof ModelShape)[] = ['numLayers', 'hiddenSize', 'numHeads', 'intermediateSize'];

/** Fails unless `value` is a positive integer; names the option. */
export function positiveInt(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DistilleryError(`${where} must be a positive integer, got ${JSON.stringify(value)}`, 'config');
  }
  return value;
}

/** 'LxH' for logs, e.g. '4x32'. */
export const shapeText = (s: { numLayers: number; hiddenSize: number }) => `${s.numLayers}x${s.hiddenSize}`;
