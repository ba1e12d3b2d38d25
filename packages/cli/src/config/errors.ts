import { ConfigError, DistilleryError, describeValue, formatPath, optionPathText, valueAt } from '@distillery/core';

// The words of config errors live in core (code and files say the same things); the CLI places them.
export { closest, ConfigError, describeValue, formatPath, unknownKeyMessage, valueAt } from '@distillery/core';
export type { ConfigIssue } from '@distillery/core';

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

// Hand-written option checks of plugins: "<who>: option '<key>' must be <why>, got <value>".
const OPTION_MUST = /option '([^']+)' must be (.+), got (.+)$/s;

/**
 * Re-raises an error thrown by a plugin (or a library check) while the config is being checked, as
 * a ConfigError under `path` (the path of the object the plugin validated, e.g. its options). A
 * schema error raised in code (core's parseOptions: issues with `keys`) is placed at those keys
 * under `path`: `hinton options.temperature: expected a number > 0, got -1` under
 * `stages[1].losses[0].options` becomes `stages[1].losses[0].options.temperature: expected a number > 0, got -1`;
 * so are hand-written checks worded "option 'temperature' must be > 0, got -1".
 * Any other error keeps its message and is placed at `entryPath` (default: `path`).
 */
export function fromPluginError(error: unknown, path: string, options: Record<string, unknown> | undefined,
  entryPath = path): ConfigError {
  if (error instanceof ConfigError) {
    // Raised by the CLI itself (file paths already), or by a schema in code (keys under the validated object).
    if (!error.issues.every((i) => i.keys)) return error;
    return new ConfigError(error.issues.map((i) => ({
      path: joinPath(path, formatPath(i.keys!)), value: valueAt(options, i.keys!), message: i.message, keys: i.keys,
    })), { cause: error });
  }
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
  const m = OPTION_MUST.exec(message);
  if (m && options && m[1] in options) {
    const [, key, why] = m;
    const expected = /^(>=|<=|>|<) /.test(why) ? `a number ${why}` : why;
    return new ConfigError({ path: joinPath(path, key), value: options[key],
      message: `expected ${expected}, got ${describeValue(options[key])}` }, { cause: error });
  }
  return new ConfigError({ path: entryPath, value, message }, { cause: error });
}
