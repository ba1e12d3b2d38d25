import { evaluate, type BackendPreference } from '@distillery/core';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { choice, parseCommand, positiveInt } from '../internals/args.js';
import { selectCliBackend } from '../internals/backend.js';
import { loadEvalData } from '../internals/data-spec.js';
import { loadModel } from '../internals/model-dir.js';
import { formatNumber } from '../progress.js';
import { cliLogger } from './shared.js';

/** The help of `distillery eval`. */
export const EVAL_USAGE = `usage: distillery eval <model-dir> --data <spec> [options]

Evaluates a model folder or checkpoint: accuracy, macro F1 and MCC (MSE for a regression head).

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
  --json                print the metrics as JSON
  -h, --help            this help`;

/** `distillery eval`: returns the exit code. */
export async function evalCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    data: { type: 'string' }, dataset: { type: 'string' }, tokenizer: { type: 'string' }, 'max-length': { type: 'string' },
    'batch-size': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' },
  }, EVAL_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${EVAL_USAGE}\n`); return ExitCode.ok; }
  if (!values.data) throw new UsageError('--data is required', EVAL_USAGE);
  const backend = choice<BackendPreference>('backend', values.backend, ['auto', 'wasm', 'cpu', 'tensorflow'], EVAL_USAGE) ?? 'auto';
  const maxLength = positiveInt('max-length', values['max-length'], EVAL_USAGE);
  const batchSize = positiveInt('batch-size', values['batch-size'], EVAL_USAGE) ?? 64;
  const logger = cliLogger(io, values.json === true);
  await selectCliBackend(backend, logger);
  const loaded = await loadModel(positionals[0], { logger });
  const data = await loadEvalData(values.data, {
    dataset: values.dataset, tokenizer: values.tokenizer ?? loaded.tokenizer, maxLength, labels: loaded.labels,
    loadPipeline: io.loadPipeline, logger,
  });
  const metrics = evaluate(loaded.model, data.source, batchSize);
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ model: loaded.model.name, dir: loaded.dir, data: data.description, metrics })}\n`);
  } else {
    io.stdout.write(`model: ${loaded.model.name} (${loaded.dir})\ndata:  ${data.description}\n` +
      `${Object.entries(metrics).map(([k, v]) => `${k} ${formatNumber(v)}`).join('  ')}\n`);
  }
  return ExitCode.ok;
}
