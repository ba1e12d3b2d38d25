import {
  createDistillery, silentLogger, type BackendPreference, type Distillery, type Logger, type Plugin, type PipelineResult,
  type RunOptions, type StageConfig,
} from '@distillery/core';
import { ConfigError } from './errors.js';
import { loadDataset, TokenizerCache, type LoadedDataset } from './datasets.js';
import { StageBuilder } from './internals/stage-builder.js';
import { discoverPlugins, type DiscoveredPlugin } from './plugins-discovery.js';
import type { PipelineConfig } from './schema.js';
import { backendExtensions } from '../internals/backend.js';

/** Options of buildPipeline. */
export interface BuildOptions {
  /** Where the Distillery, the plugins and the dataset readers log. @default silentLogger */
  logger?: Logger;
  /** Plugins to register besides the discovered ones (programmatic callers). */
  plugins?: Plugin[];
  /** The config file, named in errors. */
  file?: string;
}

/** A pipeline config turned into runnable objects. */
export interface BuiltPipeline {
  /** The validated config it was built from. */
  config: PipelineConfig;
  /** The Distillery holding every plugin; run the stages with it. */
  distillery: Distillery;
  /** The stages, stage plugins expanded, in order: `distillery.run(stages, { signal })`. Fresh objects; add callbacks freely. */
  stages: StageConfig[];
  /** For each stage name, the config path it was written at (`stages[1]`; chain stages: the chain's entry). */
  origins: Map<string, string>;
  /** The datasets of `data`, by name. */
  datasets: Record<string, LoadedDataset>;
  /** The config's `output` folder (absolute), when it names one. */
  output?: string;
  /** Every registered plugin and the module it came from. */
  plugins: DiscoveredPlugin[];
  /** The backend the config asks for (the Distillery selects it on the first run unless selectBackend() ran). */
  backend: BackendPreference;
  /** The config's default seed. */
  seed: number;
  /** The config file, when loaded from one. */
  file?: string;
  /** Runs every stage: `distillery.run(stages, options)`. */
  run(options?: RunOptions): Promise<PipelineResult>;
}

/**
 * Turns a validated config into a Distillery and its stages: registers the installed @distillery
 * plugins and the config's own modules, reads the datasets, builds each stage (model names and
 * `{ type }` definitions become plugin references, dataset names become batch sources), expands
 * stage plugins, and checks every plugin name and option by building the mappings and losses once
 * against the models' known shapes. Any problem is a ConfigError with its key path; nothing trains.
 */
export async function buildPipeline(config: PipelineConfig, options: BuildOptions = {}): Promise<BuiltPipeline> {
  const { logger = silentLogger, file } = options;
  try {
    return await build(config, logger, options.plugins ?? [], file);
  } catch (error) {
    if (error instanceof ConfigError && file && !error.file) error.file = file;
    throw error;
  }
}

async function build(config: PipelineConfig, logger: Logger, extra: Plugin[], file: string | undefined): Promise<BuiltPipeline> {
  const discovered = await discoverPlugins({ modules: config.plugins, baseDir: config.baseDir });
  const distillery = createDistillery({ logger, backend: config.backend, backendExtensions: await backendExtensions() });
  for (const { plugin, from } of discovered) {
    try {
      distillery.use(plugin);
    } catch (error) {
      const index = config.plugins.indexOf(from);
      throw new ConfigError({ path: index >= 0 ? `plugins[${index}]` : '', value: from, message: (error as Error).message }, { cause: error });
    }
  }
  for (const plugin of extra) distillery.use(plugin);
  const all = [...discovered, ...extra.map((plugin) => ({ plugin, from: '(programmatic)' }))];

  const tokenizers = new TokenizerCache();
  const datasets = new Map<string, LoadedDataset>();
  for (const [name, def] of Object.entries(config.data)) datasets.set(name, await loadDataset(name, def, config.seed, tokenizers, logger));

  const builder = new StageBuilder(config, distillery, datasets, logger);
  const stages: StageConfig[] = [];
  const origins = new Map<string, string>();
  config.stages.forEach((entry, i) => {
    for (const [stage, origin] of builder.entry(entry, i)) {
      // The file's default, for stages (also those of stage plugins) that do not say.
      if (stage.teacherCache === undefined && config.teacherCache !== undefined) stage.teacherCache = config.teacherCache;
      builder.check(stage, origin);
      stages.push(stage);
      origins.set(stage.name, origin.entry);
    }
  });
  return {
    config, distillery, stages, origins, datasets: Object.fromEntries(datasets), plugins: all, backend: config.backend,
    seed: config.seed, ...(config.output ? { output: config.output } : {}), ...(file ? { file } : {}),
    run: (runOptions) => distillery.run(stages, runOptions),
  };
}

