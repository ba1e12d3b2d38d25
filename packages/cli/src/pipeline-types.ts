import type { BackendPreference, Distillery, Logger, PipelineEntry } from '@distillery/core';

/**
 * What the commands need of a loaded pipeline file. The config loader's BuiltPipeline has (at
 * least) this shape; tests and programs may pass their own loader.
 */
export interface PipelineLike {
  /** A Distillery with the file's plugins registered. */
  distillery: Distillery;
  /** The stages (or stage plugins) in order, with models, data and losses resolved. */
  stages: PipelineEntry[];
  /** The file's `backend`, if it names one. */
  backend?: BackendPreference;
  /** The file's output folder, if it names one. */
  output?: string;
  /** Named datasets the file defines, for `eval --dataset` (a source, or splits of sources). */
  datasets?: Record<string, unknown>;
}

/** Reads a pipeline file (YAML or JSON) into a PipelineLike; fails with a ConfigError naming the key. */
export type PipelineLoader = (file: string, options: { logger: Logger }) => Promise<PipelineLike>;
