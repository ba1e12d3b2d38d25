import { DistilleryError } from '../errors.js';

/** One problem in a configuration: where, what was there, and what was expected. */
export interface ConfigIssue {
  /** The key path, e.g. `stages[1].losses[0].options.temperature` in a file, `stage 'fit' batchSize` in code ('' for the whole). */
  path: string;
  /** The offending value (undefined when a required key is missing). */
  value: unknown;
  /** What is wrong, without the path, e.g. `expected a number > 0, got -1`. */
  message: string;
  /** The keys of the issue under the object that was validated (plugin options), to place it elsewhere. */
  keys?: readonly PropertyKey[];
}

/**
 * A configuration that cannot be run: a DistilleryError with code 'config', raised before anything
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

  constructor(issues: ConfigIssue | readonly ConfigIssue[],
    options?: {
      cause?: unknown; file?: string;
      /** Named when there are several issues. @default 'the pipeline config' */
      subject?: string;
      /** The option the (first) issue is about, as a path in a plugin's options (see DistilleryError.option). */
      option?: readonly (string | number)[];
    }) {
    const list = Array.isArray(issues) ? issues as ConfigIssue[] : [issues as ConfigIssue];
    const line = (i: ConfigIssue) => (i.path ? `${i.path}: ${i.message}` : i.message);
    const message = list.length === 1 ? line(list[0])
      : `${list.length} problems in ${options?.subject ?? 'the pipeline config'}:\n${list.map((i) => `  ${line(i)}`).join('\n')}`;
    super(message, 'config', {
      ...(options?.cause === undefined ? {} : { cause: options.cause }), ...(options?.option ? { option: options.option } : {}),
    });
    this.name = 'ConfigError';
    this.path = list[0].path;
    this.value = list[0].value;
    this.issues = list;
    if (options?.file) this.file = options.file;
  }
}
