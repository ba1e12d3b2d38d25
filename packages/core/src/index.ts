import './setup.js';

// Contracts.
export { ALL_FEATURES } from './types.js';
export type {
  Batch, BatchSource, DistillationLoss, Feature, ForwardOptions, LayerMapping, LayerPair, LossContext, LossResult,
  MemoryEstimate, ModelInfo, ModelOutputs, StepShape, Student, Teacher,
} from './types.js';
export { DistilleryError, NonFiniteLossError, optionError, optionPathText } from './errors.js';
export type { DistilleryErrorCode } from './errors.js';

// Plugins and their options.
export {
  defineCallbackPlugin, defineLossPlugin, defineMappingPlugin, defineStagePlugin, defineStudentPlugin, defineTeacherPlugin,
  pluginJsonSchema,
} from './plugins.js';
export type {
  CallbackPlugin, DefinedPlugin, DescribeEnv, LossPlugin, MappingPlugin, ModelDescription, ModelEnv, ModelShape, PlainDefinition,
  Plugin, PluginEnv, PluginKind, SchemaDefinition, StageEnv, StagePlugin, StudentPlugin, TeacherPlugin,
} from './plugins.js';
export { modelDetails } from './model-folder.js';
export type { ExportFormat, FolderFormat, LoadedFolder, ModelDetails } from './model-folder.js';
export { checkOptionKeys } from './registry.js';
export { parseOptions, placeIssues, toJsonSchema, validate } from './schema/options.js';
export type { IssueWording, JsonSchema, OptionsInput, OptionsOutput, OptionsSchema, Validated } from './schema/options.js';
export type { StandardSchemaV1 } from './schema/standard-schema.js';
export { ConfigError } from './schema/config-error.js';
export type { ConfigIssue } from './schema/config-error.js';
export {
  appendPath, closest, describeValue, errorMap, formatPath, toIssues, unknownKeyMessage, valueAt,
} from './schema/issues.js';
export type { RawIssue } from './schema/issues.js';

// Stages and pipelines.
export { createDistillery, Distillery } from './distillery.js';
export type { DistilleryOptions, PipelineEntry, PipelineResult } from './distillery.js';
export { plainConfig } from './distiller.js';
export type { RunOptions, StageResult } from './distiller.js';
export { lossSpec } from './stage.js';
export type {
  CheckpointConfig, EvaluationConfig, LossSpec, MetricName, ModelRef, OptimizerConfig, PluginRef, StageConfig, StageSettings,
  TeacherCacheHook, TeacherCacheRequest, TeacherCacheServed,
} from './stage.js';
export {
  checkpointSchema, checkStageSettings, evaluationSchema, lossSpecSchema, lossWeightSchema, metricSchema, optimizerSchema,
  stageFieldsShape, stageSettingsShape,
} from './stage-schema.js';
export {
  builtinMappings, explicit, explicitMapping, explicitOptions, hasEmbeddingEntry, last, lastLayer, lastLayerMapping,
  lastLayerOptions, lastMapping, skip, skipMapping, uniform, uniformMapping,
} from './mappings.js';
export { supervised, supervisedLoss } from './losses/supervised.js';
export { logCallback, logCallbackPlugin, stageModelsText } from './callbacks.js';
export type { Callback, CheckpointEvent, EpochEvent, StageEndEvent, StageModels, StageStartEvent, StepEvent } from './callbacks.js';
export { arraySource, disposeBatch } from './data.js';
export type { ArraySourceInput } from './data.js';

// Training parts, metrics, checkpoints, backends, logging.
export { AdamW } from './optim/adamw.js';
export type { AdamWOptions } from './optim/adamw.js';
export { makeSchedule } from './optim/schedule.js';
export type { ScheduleConfig } from './optim/schedule.js';
export { clipByGlobalNorm } from './optim/clip.js';
export { classificationMetrics, classificationReport, meanSquaredError } from './metrics.js';
export type { ClassificationMetrics, ClassificationReport, ClassScores } from './metrics.js';
export { evaluate, higherIsBetter } from './evaluate.js';
export { assignWeights, CHECKPOINT_FORMAT, checkpointCandidates, hasCheckpoint, loadCheckpoint, loadNewestIntact, saveCheckpoint } from './checkpoint.js';
export type { CheckpointExpectation, CheckpointManifest, CheckpointState, LoadedCheckpoint, SkippedCheckpoint } from './checkpoint.js';
export { backendSelected, selectBackend } from './backend.js';
export { backendMemoryLimit, checkStepMemory, estimateStepMemory, REFUSE_ABOVE, WASM_HEAP_BYTES } from './stage/memory.js';
export type { MemoryLimit, StepMemory } from './stage/memory.js';
export type {
  BackendChoice, BackendExtension, BackendExtensionResult, BackendPreference, SelectBackendOptions,
} from './backend.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
