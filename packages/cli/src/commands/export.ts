import type { BackendPreference } from '@distillery/core';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { choice, parseCommand } from '../internals/args.js';
import { selectCliBackend } from '../internals/backend.js';
import { exportModel, type ExportFormat } from '../internals/export-model.js';
import { loadModel } from '../internals/model-dir.js';
import { cliLogger, commandPlugins } from './shared.js';

/** The help of `distillery export`. */
export const EXPORT_USAGE = `usage: distillery export <model-dir|checkpoint> --format hf|tfjs --out <dir> [options]

Writes a model folder or a training checkpoint (best/, last/, or a stage's checkpoint folder) as:
  hf     a Hugging Face folder: config.json + model.safetensors (BERT: loadable by transformers'
         from_pretrained; a BiLSTM: its own config, which transformers has no class for)
  tfjs   a TensorFlow.js folder: model.json + weight shards (tf.io format) + config.json

options:
  --force               replace an earlier model export in --out
  --backend <name>      auto | wasm | cpu | tensorflow (default cpu: no computation is needed)
  --plugin <module>     a plugin module whose model plugins read other model folders (repeatable)
  -h, --help            this help`;

/** `distillery export`: returns the exit code. */
export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    format: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, backend: { type: 'string' },
    plugin: { type: 'string', multiple: true },
  }, EXPORT_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${EXPORT_USAGE}\n`); return ExitCode.ok; }
  const format = choice<ExportFormat>('format', values.format, ['hf', 'tfjs'], EXPORT_USAGE);
  if (!format) throw new UsageError('--format is required', EXPORT_USAGE);
  if (!values.out) throw new UsageError('--out is required', EXPORT_USAGE);
  const backend = choice<BackendPreference>('backend', values.backend, ['auto', 'wasm', 'cpu', 'tensorflow'], EXPORT_USAGE) ?? 'cpu';
  const logger = cliLogger(io, false);
  await selectCliBackend(backend, { info: () => {}, warn: logger.warn });
  const loaded = await loadModel(positionals[0], { logger, plugins: await commandPlugins(values.plugin) });
  const { files, note } = await exportModel(loaded.model, format, values.out, { tokenizer: loaded.tokenizer, force: values.force === true });
  io.stdout.write(`exported ${loaded.model.name} from ${loaded.dir} as ${format}${note ? ` (${note})` : ''}:\n` +
    `${files.map((f) => `  ${f}`).join('\n')}\n`);
  return ExitCode.ok;
}
