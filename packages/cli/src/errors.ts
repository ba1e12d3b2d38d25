import { DistilleryError } from '@distillery/core';

/** The exit codes of the `distillery` command. */
export const ExitCode = {
  /** Everything asked for was done. */
  ok: 0,
  /** Training failed: a loss or gradient went NaN or infinite (the run diverged), or an unexpected error. */
  trainingFailed: 1,
  /** Bad command line, config file, data or model folder; nothing was trained. */
  badInput: 2,
  /** Stopped by Ctrl-C (128 + SIGINT); a checkpoint was written and `--resume` continues. */
  interrupted: 130,
} as const;

/** A command-line mistake (unknown flag, missing argument); printed with the command's usage. */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The shape of the config package's ConfigError, matched by name so this file does not import it. */
interface ConfigErrorLike extends Error {
  path: unknown;
  value?: unknown;
}

const isConfigError = (e: unknown): e is ConfigErrorLike =>
  e instanceof Error && e.name === 'ConfigError' && 'path' in e;

/** Node's file-system codes that mean the user pointed at something that is not there. */
const INPUT_FS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES']);

/** Whether an error says the input was bad (exit 2) rather than that training failed (exit 1). */
export function isInputError(error: unknown): boolean {
  if (error instanceof UsageError || isConfigError(error)) return true;
  if (error instanceof DistilleryError) return error.code !== 'non-finite';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && INPUT_FS_CODES.has(code);
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): number {
  return isInputError(error) ? ExitCode.badInput : ExitCode.trainingFailed;
}

/** `stages[1].losses[0]` from ['stages', 1, 'losses', 0]; strings pass through. */
export function formatKeyPath(p: unknown): string {
  if (typeof p === 'string') return p;
  if (!Array.isArray(p)) return String(p);
  return p.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/**
 * The text printed for an error. Input errors get their message only (with the key path of a
 * ConfigError when the message lacks it, and a cause the message does not already say); anything
 * else gets its stack, since it is a failure worth a bug report.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `error: ${String(error)}`;
  if (!isInputError(error) && !(error instanceof DistilleryError)) return error.stack ?? `${error.name}: ${error.message}`;
  let message = error.message;
  if (isConfigError(error)) {
    const where = formatKeyPath(error.path);
    if (where && !message.includes(where)) message = `${where}: ${message}`;
  }
  // A ConfigError restates its cause in config terms; elsewhere a cause the message leaves out is worth showing.
  const cause = (error as { cause?: unknown }).cause;
  if (!isConfigError(error) && cause instanceof Error && cause.message && !message.includes(cause.message)) message += ` (${cause.message})`;
  const usage = error instanceof UsageError && error.usage ? `\n\n${error.usage}` : '';
  return `error: ${message}${usage}`;
}
