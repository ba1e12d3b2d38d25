export { main, processIo, USAGE, version } from './main.js';
export { buildPipeline, ConfigError, loadPipelineFile, parsePipelineConfig, readPipelineFile } from './config/index.js';
export type { BuildOptions, BuiltPipeline, ConfigIssue, LoadOptions, PipelineConfig } from './config/index.js';
export type { CliIo } from './io.js';
export { describeError, ExitCode, exitCodeFor, formatKeyPath, isInputError, UsageError } from './errors.js';
export { runPipeline } from './run-pipeline.js';
export type { RunPipelineOptions, RunPipelineResult, StageOutcome } from './run-pipeline.js';
export type { PipelineLike, PipelineLoader } from './pipeline-types.js';
export { Progress, formatDuration, formatNumber, progressBar } from './progress.js';
export type { OutputStream, ProgressOptions } from './progress.js';
export { MetricsLog, readMetrics } from './metrics-log.js';
export type { CompareRow, MetricsRecord } from './metrics-log.js';
export {
  chartJsUmd, collectReport, compareModels, countParameters, measureThroughput, renderReport, RUN_FILES, writeReport,
} from './report/index.js';
export type { CompareInput, ReportData, StageReport } from './report/index.js';
export { loadModel } from './internals/model-dir.js';
export type { LoadedModel, ModelFormat } from './internals/model-dir.js';
export { exportModel } from './internals/export-model.js';
export type { ExportFormat } from './internals/export-model.js';
export { loadEvalData } from './internals/data-spec.js';
export type { EvalData, EvalDataOptions } from './internals/data-spec.js';
