/** Every error Distillery raises on purpose; `code` tells the kind, the message names the culprit. */
export class DistilleryError extends Error {
  /**
   * The option the error is about, as a path inside the options object a plugin was given
   * (`['config', 'num_labels']`), so that callers can point at it (the CLI: a config key path).
   */
  readonly option?: readonly (string | number)[];

  constructor(
    message: string,
    /** A stable machine-readable kind. */
    readonly code: DistilleryErrorCode,
    options?: { cause?: unknown; option?: readonly (string | number)[] },
  ) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'DistilleryError';
    if (options?.option) this.option = [...options.option];
  }
}

/** `config.layers[1]` from ['config', 'layers', 1]. */
export const optionPathText = (option: readonly (string | number)[]): string =>
  option.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');

/**
 * A 'config' error about one option of a plugin: `<who>: option '<path>': <message>`, with `option`
 * set. `cause` may be the error of a check made on the option's value (e.g. a nested config).
 */
export function optionError(who: string, option: readonly (string | number)[], message: string, cause?: unknown): DistilleryError {
  return new DistilleryError(`${who}: option '${optionPathText(option)}': ${message}`, 'config', { cause, option });
}

/** Kinds of DistilleryError. */
export type DistilleryErrorCode =
  | 'config'        // a bad option or stage value
  | 'plugin'        // unknown or duplicate plugin
  | 'feature'       // a model cannot emit a feature a loss asks for
  | 'shape'         // tensors of mismatched shape
  | 'mapping'       // a layer mapping that cannot be built
  | 'non-finite'    // a loss went NaN or infinite
  | 'checkpoint'    // a missing or inconsistent checkpoint
  | 'data'          // a bad row, file or cache
  | 'backend'       // no usable backend
  | 'memory';       // a step that does not fit the backend's memory

/** Raised when training meets a NaN or infinite loss; the weights are left as after the last good step. */
export class NonFiniteLossError extends DistilleryError {
  constructor(
    message: string,
    /** The 1-based step that produced the bad value. */
    readonly step: number,
    /** The term that went non-finite, e.g. 'hinton.soft'. */
    readonly term: string,
    /** The last checkpoint on disk, if any. */
    readonly lastCheckpoint: string | undefined,
  ) {
    super(message, 'non-finite');
    this.name = 'NonFiniteLossError';
  }
}
