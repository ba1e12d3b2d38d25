import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/**
 * Parses a command's arguments strictly (node:util parseArgs): an unknown flag, a flag without its
 * value or a wrong number of positionals is a UsageError that carries the command's usage.
 */
export function parseCommand<O extends OptionSpec>(argv: string[], options: O, usage: string, positionals: { min: number; max: number }) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage);
  }
  const values = parsed.values as { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean };
  if (!values.help) {
    if (parsed.positionals.length < positionals.min) throw new UsageError('missing argument', usage);
    if (parsed.positionals.length > positionals.max) throw new UsageError(`unexpected argument '${parsed.positionals[positionals.max]}'`, usage);
  }
  return { values, positionals: parsed.positionals };
}

/** A choice flag's value, checked against the allowed ones. */
export function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], usage: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`, usage);
  }
  return value as T;
}

/** A positive integer flag's value. */
export function positiveInt(flag: string, value: string | undefined, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got '${value}'`, usage);
  return n;
}

/** A command line as one would type it in a POSIX shell (arguments quoted where needed). */
export function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
