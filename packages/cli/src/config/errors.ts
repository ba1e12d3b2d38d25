import { DistilleryError, optionPathText } from '@distillery/core';

/** One problem in a pipeline config: where, what was there, and what was expected. */
export interface ConfigIssue {
  /** The key path, e.g. `stages[1].losses[0].options.temperature` ('' for the whole file). */
  path: string;
  /** The offending value (undefined when a required key is missing). */
  value: unknown;
  /** What is wrong, without the path, e.g. `expected a number > 0, got -1`. */
  message: string;
}

/**
 * A pipeline config that cannot be run: a DistilleryError with code 'config', raised before anything
 * trains. `path` and `value` are the first issue's; `issues` lists every one found.
 * The message is `<path>: <message>` (several issues: one per line).
 */
export class ConfigError extends DistilleryError {
  /** The first issue's key path, e.g. `stages[1].losses[0].options.temperature`. */
  readonly path: string;
  /** The first issue's offending value. */
  readonly value: unknown;
  /** Every issue found (at least one). */
  readonly issues: readonly ConfigIssue[];
  /** The config file, when the config came from one. */
  file?: string;

  constructor(issues: ConfigIssue | readonly ConfigIssue[], options?: { cause?: unknown; file?: string }) {
    const list = Array.isArray(issues) ? issues as ConfigIssue[] : [issues as ConfigIssue];
    const line = (i: ConfigIssue) => (i.path ? `${i.path}: ${i.message}` : i.message);
    const message = list.length === 1 ? line(list[0])
      : `${list.length} problems in the pipeline config:\n${list.map((i) => `  ${line(i)}`).join('\n')}`;
    super(message, 'config', options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.path = list[0].path;
    this.value = list[0].value;
    this.issues = list;
    if (options?.file) this.file = options.file;
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `stages[1].losses[0]` from ['stages', 1, 'losses', 0]; odd keys as `["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (IDENTIFIER.test(String(key))) out += out ? `.${String(key)}` : String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Joins a path and a key or sub-path: join('stages[0]', 'losses[1]') → 'stages[0].losses[1]'. */
export function joinPath(base: string, ...rest: (string | number)[]): string {
  let out = base;
  for (const part of rest) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (part.startsWith('[')) out += part;
    else if (part) out += out ? `.${part}` : part;
  }
  return out;
}

/** A value as an error shows it: JSON for scalars, a summary for lists and objects. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    return keys.length ? `an object with keys ${keys.join(', ')}` : 'an empty object';
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The value at a path of plain objects and lists, or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** The closest of `known` to `key` by edit distance, when close enough to be a typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The message for a key that is not allowed, with the allowed keys and a likely intended one. */
export function unknownKeyMessage(key: string, allowed: readonly string[], what = 'key'): string {
  const guess = closest(key, allowed);
  return `unknown ${what}${guess ? ` (did you mean '${guess}'?)` : ''}; allowed: ${allowed.join(', ') || '(none)'}`;
}

// Messages of core's option checks (checkNumberOption & co.): "<who>: option '<key>' must be <why>, got <value>".
const OPTION_MUST = /option '([^']+)' must be (.+), got (.+)$/s;
// Core's checkOptionKeys: "<where>: unknown option '<key>' for <kind> plugin '<name>'; known options: <list>".
const UNKNOWN_OPTION = /unknown option '([^']+)' for (\w+) plugin '([^']+)'; known options: (.*)$/s;
// models' BERT config checks: "unknown config key(s) 'a', 'b'; known keys: ...".
const UNKNOWN_CONFIG_KEY = /unknown config keys? '([^']+)'.*; known keys: (.*)$/s;

/**
 * Re-raises an error thrown by a plugin (or a library check) while the config is being checked, as
 * a ConfigError under `path` (the options object's path). Option errors of core's checks point at
 * the option itself: "hinton: option 'temperature' must be > 0, got -1" under
 * `stages[1].losses[0].options` becomes `stages[1].losses[0].options.temperature: expected a number > 0, got -1`.
 * Any other error keeps its message and is placed at `entryPath` (default: `path`).
 */
export function fromPluginError(error: unknown, path: string, options: Record<string, unknown> | undefined,
  entryPath = path): ConfigError {
  if (error instanceof ConfigError) return error;
  if (error instanceof DistilleryError && error.option?.length) return fromOptionError(error, error.option, path, options);
  return fromMessage(error instanceof Error ? error.message : String(error), error, path, options, entryPath);
}

/**
 * An error a plugin raised about one of its options (DistilleryError.option): it points there, and
 * its message (after `<who>: option '<path>': `) is read as an error about that option's value.
 */
function fromOptionError(error: DistilleryError, option: readonly (string | number)[], path: string,
  options: Record<string, unknown> | undefined): ConfigError {
  const at = joinPath(path, ...option);
  const value = valueAt(options, option);
  const prefix = `option '${optionPathText(option)}': `;
  const k = error.message.indexOf(prefix);
  const message = k >= 0 ? error.message.slice(k + prefix.length) : error.message;
  return fromMessage(message, error, at, isRecord(value) ? value : undefined, at, value);
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function fromMessage(message: string, error: unknown, path: string, options: Record<string, unknown> | undefined,
  entryPath: string, value: unknown = options): ConfigError {
  let m = UNKNOWN_OPTION.exec(message);
  if (m) {
    const [, key, kind, name, known] = m;
    const allowed = known === '(none)' ? [] : known.split(', ');
    return new ConfigError({ path: joinPath(path, key), value: options?.[key],
      message: `${unknownKeyMessage(key, allowed, `option for ${kind} plugin '${name}'`)}` }, { cause: error });
  }
  m = OPTION_MUST.exec(message);
  if (m && options && m[1] in options) {
    const [, key, why] = m;
    const expected = /^(>=|<=|>|<) /.test(why) ? `a number ${why}` : why;
    return new ConfigError({ path: joinPath(path, key), value: options[key],
      message: `expected ${expected}, got ${describeValue(options[key])}` }, { cause: error });
  }
  m = UNKNOWN_CONFIG_KEY.exec(message);
  if (m && options) {
    const key = m[1];
    return new ConfigError({ path: joinPath(path, key), value: options[key],
      message: unknownKeyMessage(key, m[2].split(', ')) }, { cause: error });
  }
  return new ConfigError({ path: entryPath, value, message }, { cause: error });
}
