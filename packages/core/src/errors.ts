/** Every error Distillery raises on purpose; `code` tells the kind, the message names the culprit. */
export class DistilleryError extends Error {
  constructor(
    message: string,
    /** A stable machine-readable kind. */
    readonly code: DistilleryErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DistilleryError';
  }
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
  | 'backend';      // no usable backend

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
