export { buildPipeline } from './build.js';
export type { BuildOptions, BuiltPipeline } from './build.js';
export { loadDataset, TokenizerCache } from './datasets.js';
export type { LoadedDataset } from './datasets.js';
export { ConfigError, formatPath } from './errors.js';
export { pipelineJsonSchema, pluginsJsonSchema } from './json-schema.js';
export type { PluginLister } from './json-schema.js';
export type { ConfigIssue } from './errors.js';
export { loadPipelineFile, parseText, readPipelineFile } from './load.js';
export type { LoadOptions } from './load.js';
export { discoverPlugins, INSTALLED_PLUGIN_PACKAGES, isPlugin, pluginsOf } from './plugins-discovery.js';
export type { DiscoveredPlugin, DiscoverOptions } from './plugins-discovery.js';
export { parsePipelineConfig, PIPELINE_KEYS } from './schema.js';
export type {
  AssistantShapeDef, DatasetDef, LossDef, MlmDef, ModelDef, ModelRefDef, ParseOptions, PipelineConfig, PluginRefDef, StageDef,
  StageFieldsDef, StagePluginDef, TeacherAssistantDef, TextDataFields,
} from './schema.js';
