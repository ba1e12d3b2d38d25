import path from 'node:path';
import { classificationReport, DistilleryError, meanSquaredError, type BackendPreference, type ClassificationReport } from '@distillery/core';
import { writeFileAtomic } from '@distillery/core/kit';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { choice, parseCommand, positiveInt } from '../internals/args.js';
import { selectCliBackend } from '../internals/backend.js';
import { loadEvalData, type EvalData } from '../internals/data-spec.js';
import { loadModel } from '../internals/model-dir.js';
import { predict, type Predictions } from '../internals/predict.js';
import { formatNumber } from '../progress.js';
import { cliLogger, commandPlugins } from './shared.js';

/** The help of `distillery eval`. */
export const EVAL_USAGE = `usage: distillery eval <model-dir> --data <spec> [options]

Evaluates a model folder or checkpoint: accuracy, macro-F1 and MCC, per-class precision, recall and
F1, and the confusion matrix (MSE for a regression head).

--data <spec> is one of:
  spam-assassin[:validation|test|train]   the built-in SpamAssassin split (default validation)
  <file.jsonl|.csv|.tsv>                  labelled texts (columns text/label, as @distillery/data reads them)
  <pipeline.yaml> --dataset <name>        a dataset of a pipeline file, or the validation data of the stage <name>
                                          (<name>:train for its training data); also <pipeline.yaml>#<name>

options:
  --tokenizer <file>    tokenizer.json for text data, or bert-base-uncased (default: the one beside the model)
  --max-length <n>      longest sequence for text data (default 128)
  --batch-size <n>      (default 64)
  --backend <name>      auto | wasm | cpu | tensorflow (default auto)
  --predictions <file>  write one JSON line per example: { index, text, label, predicted, probabilities }
  --json                print the metrics as JSON
  --plugin <module>     a plugin module whose model plugins read other model folders (repeatable)
  -h, --help            this help`;

/** `distillery eval`: returns the exit code. */
export async function evalCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    data: { type: 'string' }, dataset: { type: 'string' }, tokenizer: { type: 'string' }, 'max-length': { type: 'string' },
    'batch-size': { type: 'string' }, backend: { type: 'string' }, predictions: { type: 'string' }, json: { type: 'boolean' },
    plugin: { type: 'string', multiple: true },
  }, EVAL_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${EVAL_USAGE}\n`); return ExitCode.ok; }
  if (!values.data) throw new UsageError('--data is required', EVAL_USAGE);
  const backend = choice<BackendPreference>('backend', values.backend, ['auto', 'wasm', 'cpu', 'tensorflow'], EVAL_USAGE) ?? 'auto';
  const maxLength = positiveInt('max-length', values['max-length'], EVAL_USAGE);
  const batchSize = positiveInt('batch-size', values['batch-size'], EVAL_USAGE) ?? 64;
  const logger = cliLogger(io, values.json === true);
  await selectCliBackend(backend, logger);
  const loaded = await loadModel(positionals[0], { logger, plugins: await commandPlugins(values.plugin) });
  const data = await loadEvalData(values.data, {
    dataset: values.dataset, tokenizer: values.tokenizer ?? loaded.tokenizer, maxLength, labels: loaded.labels,
    loadPipeline: io.loadPipeline, logger,
  });
  const run = predict(loaded.model, data.source, batchSize);
  const outside = run.regression ? -1 : run.labels.findIndex((l) => l >= run.numClasses);
  if (outside >= 0) {
    throw new DistilleryError(`eval: example ${outside} of ${data.description} has class id ${run.labels[outside]}` +
      `${data.labels?.[run.labels[outside]] === undefined ? '' : ` (${data.labels[run.labels[outside]]})`}, but ${loaded.model.name} has ` +
      `${run.numClasses} outputs`, 'data');
  }
  // The model's names first: the file's labels were mapped onto its outputs through them.
  const names = Array.from({ length: run.numClasses }, (_, i) => loaded.labels?.[i] ?? data.labels?.[i] ?? String(i));
  const report = run.regression ? undefined : classificationReport(run.predicted, run.labels, run.numClasses);
  const metrics: Record<string, number> = report
    ? { accuracy: report.accuracy, f1: report.f1, mcc: report.mcc }
    : { mse: meanSquaredError(run.predicted, run.labels) };
  if (values.predictions) {
    const file = path.resolve(values.predictions);
    await writeFileAtomic(file, predictionLines(run, names, data));
    logger.info(`predictions: ${file} (${run.predicted.length} lines)`);
  }
  if (values.json) {
    const classes = report && {
      classes: report.classes.map((c, i) => ({ label: names[i], ...c })),
      confusion: { labels: names, matrix: report.confusion },
    };
    io.stdout.write(`${JSON.stringify({ model: loaded.model.name, dir: loaded.dir, data: data.description, metrics, ...classes })}\n`);
  } else {
    const summary = report
      ? `accuracy ${formatNumber(report.accuracy)}  macro-F1 ${formatNumber(report.f1)}  mcc ${formatNumber(report.mcc)}`
      : `mse ${formatNumber(metrics.mse)}`;
    io.stdout.write(`model: ${loaded.model.name} (${loaded.dir})\ndata:  ${data.description}\n${summary}\n` +
      `${report ? `\n${classTable(report, names)}\n${confusionTable(report, names)}` : ''}`);
  }
  return ExitCode.ok;
}

/** Lays rows of cells out in columns: the first left-aligned, the others right-aligned. */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}

function classTable(report: ClassificationReport, names: readonly string[]): string {
  const hidden = report.hidden ? `\n(${report.hidden} example(s) with a hidden label left out)` : '';
  return `${columns([['class', 'precision', 'recall', 'F1', 'support'],
    ...report.classes.map((c, i) => [names[i], formatNumber(c.precision), formatNumber(c.recall), formatNumber(c.f1), String(c.support)])])}${hidden}\n`;
}

function confusionTable(report: ClassificationReport, names: readonly string[]): string {
  return `confusion matrix (rows: true class, columns: predicted)\n` +
    `${columns([['', ...names], ...report.confusion.map((row, t) => [names[t], ...row.map(String)])])}\n`;
}

/** One JSON line per example: index, text (and textPair) when known, label and prediction by name, class probabilities. */
function predictionLines(run: Predictions, names: readonly string[], data: EvalData): string {
  return run.predicted.map((predicted, index) => {
    const example = data.examples?.[index];
    const label = run.labels[index];
    const line = {
      index,
      ...(example ? { text: example.text, ...(example.textPair === undefined ? {} : { textPair: example.textPair }) } : {}),
      label: label === -100 ? null : run.regression ? label : names[label],
      predicted: run.regression ? predicted : names[predicted],
      ...(run.regression ? {} : { probabilities: Object.fromEntries(names.map((n, c) => [n, run.probabilities[index][c]])) }),
    };
    return `${JSON.stringify(line)}\n`;
  }).join('');
}
