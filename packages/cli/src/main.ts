import { readFileSync } from 'node:fs';
import { describeError, exitCodeFor, ExitCode, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import type { PipelineLoader } from './pipeline-types.js';

/** The help of `distillery` itself. */
export const USAGE = `usage: distillery <command> [options]

commands:
  run <pipeline.yaml>          run every stage of a pipeline (progress, metrics.jsonl, checkpoints, report.html)
  eval <model-dir> --data ...  accuracy / macro-F1 / MCC (and per class) of a model folder or checkpoint
  export <model-dir> --format hf|tfjs --out <dir>
                               write a model or checkpoint as a Hugging Face or TensorFlow.js folder
  inspect <model-dir>          shape, parameter count, features it can emit, files
  report <run-dir>             write a run's report.html again from its metrics.jsonl
  schema [--out <file>]        the JSON Schema of pipeline files for the installed plugins (for editors)

distillery <command> --help shows a command's options. Exit codes: 0 done, 1 training failed
(a loss went NaN or infinite), 2 bad command line, config, data or model folder, 130 interrupted.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

// Imported when used: --version and --help answer without loading TensorFlow.js.
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  schema: async () => (await import('./commands/schema.js')).schemaCommand,
};

/** The package version, from package.json (one level above src/ and dist/). */
export function version(): string {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
}

/** The config package's loader, imported when a command first needs it. */
const defaultLoader: PipelineLoader = async (file, options) => {
  const { loadPipelineFile } = await import('./config/index.js');
  return loadPipelineFile(file, options);
};

/** The process's streams, SIGINT and exit, and the config package's loader. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => { process.off('SIGINT', handler); };
    },
    exit: (code) => process.exit(code),
    loadPipeline: defaultLoader,
  };
}

/**
 * The `distillery` command: runs argv (without `node` and the script) and resolves to the exit code.
 * Errors never escape: input errors print their message (with the key path of a config error)
 * and give 2, a non-finite loss gives 1, anything unexpected prints its stack and gives 1.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = { ...processIo(), ...io };
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      (command === undefined ? full.stderr : full.stdout).write(`${USAGE}\n`);
      return command === undefined ? ExitCode.badInput : ExitCode.ok;
    }
    if (command === '--version' || command === '-v') {
      full.stdout.write(`${version()}\n`);
      return ExitCode.ok;
    }
    if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command '${command}'`, USAGE);
    return await (await COMMANDS[command]())(rest, full);
  } catch (error) {
    full.stderr.write(`${describeError(error)}\n`);
    return exitCodeFor(error);
  }
}
