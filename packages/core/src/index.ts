import './setup.js';

export { ALL_FEATURES } from './types.js';
export type {
  Batch, BatchSource, DistillationLoss, Feature, ForwardOptions, LayerMapping, LayerPair, LossContext, LossResult,
  ModelInfo, ModelOutputs, Student, Teacher,
} from './types.js';
export { DistilleryError, NonFiniteLossError, optionError, optionPathText } from './errors.js';
export type { DistilleryErrorCode } from './errors.js';
export {
  defineCallbackPlugin, defineLossPlugin, defineMappingPlugin, defineStagePlugin, defineStudentPlugin, defineTeacherPlugin,
} from './plugins.js';
export type {
  CallbackPlugin, DescribeEnv, LossPlugin, MappingPlugin, ModelDescription, ModelEnv, ModelShape, Plugin, PluginEnv, PluginKind, StageEnv, StagePlugin,
  StudentPlugin, TeacherPlugin,
} from './plugins.js';
export {
  CallbackPlugins, LossPlugins, LoggerToken, MappingPlugins, StagePlugins, StageToken, StudentPlugins, TeacherPlugins,
} from './tokens.js';
export { PluginRegistry, checkOptionKeys } from './registry.js';
export { createDistillery, Distillery, Pipeline } from './distillery.js';
export type { DistilleryOptions, PipelineEntry, PipelineResult } from './distillery.js';
export { Distiller, plainConfig } from './distiller.js';
export type { RunOptions, StageResult } from './distiller.js';
export type {
  LossSpec, MetricName, ModelRef, OptimizerConfig, PluginRef, ResolvedStage, StageConfig, TeacherCacheHook, TeacherCacheRequest,
  TeacherCacheServed,
} from './stage.js';
export {
  builtinMappings, explicit, explicitMapping, hasEmbeddingEntry, last, lastLayer, lastLayerMapping, lastMapping,
  skip, skipMapping, uniform, uniformMapping,
} from './mappings.js';
export { backendSelected, selectBackend } from './backend.js';
export type {
  BackendChoice, BackendExtension, BackendExtensionResult, BackendPreference, SelectBackendOptions,
} from './backend.js';
export { AdamW } from './optim/adamw.js';
export type { AdamWOptions } from './optim/adamw.js';
export { makeSchedule } from './optim/schedule.js';
export type { ScheduleConfig } from './optim/schedule.js';
export { clipByGlobalNorm } from './optim/clip.js';
export { logCallback, logCallbackPlugin, stageModelsText } from './callbacks.js';
export type { Callback, CheckpointEvent, EpochEvent, StageEndEvent, StageModels, StageStartEvent, StepEvent } from './callbacks.js';
export { classificationMetrics, classificationReport, meanSquaredError } from './metrics.js';
export type { ClassificationMetrics, ClassificationReport, ClassScores } from './metrics.js';
export { evaluate, higherIsBetter } from './evaluate.js';
export { assignWeights, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { CheckpointState, LoadedCheckpoint } from './checkpoint.js';
export { decodeSafetensors, encodeSafetensors, halfToFloat } from './io/safetensors.js';
export type { SafetensorsDtype, StoredTensor } from './io/safetensors.js';
export { writeDirAtomic, writeFileAtomic } from './io/atomic.js';
export { arraySource, disposeBatch } from './data.js';
export type { ArraySourceInput } from './data.js';
export { embeddingLookup, hardLabelLoss, linear, matMul2d } from './ops.js';
export { supervised, supervisedLoss } from './losses/supervised.js';
export { Rng } from './internals/rng.js';
export {
  assertRank, assertSameShape, checkBooleanOption, checkChoiceOption, checkNumberOption, checkOneOf, requireFeature, requireLayer,
  shapeText,
} from './internals/checks.js';
export type { TensorSite } from './internals/checks.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { seededLinear } from './seeded-linear.js';
export type { SeededLinear } from './seeded-linear.js';
