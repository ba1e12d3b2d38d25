/** One text-classification example: a text (or a pair) and, when labelled, its label. */
export interface TextExample {
  text: string;
  /** The second segment of a pair task (GLUE `text_b` / `sentence2`). */
  textPair?: string;
  /** Class id (an index into the dataset's LabelMap) or a float target (regression); HIDDEN_LABEL (-100) when hidden. */
  label?: number;
}

/** How an encoder truncates and pads (the models package's Tokenizer options). */
export interface EncodeOptionsLike {
  maxLength?: number;
  padding?: 'longest' | 'max_length' | false;
  truncation?: boolean;
}

/** Token ids of a batch of rows. */
export interface EncodedLike {
  inputIds: number[][];
  /** 1 = token, 0 = padding. */
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/** The vocabulary facts masking needs; any Tokenizer of @distillery/models has them. */
export interface VocabLike {
  /** Number of ids (the largest id + 1). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly maskId: number;
  /** Ids never masked and never drawn as random replacements ([CLS], [SEP], [PAD], [UNK], [MASK], ...). */
  readonly specialIds: ReadonlySet<number>;
}

/**
 * The part of a tokenizer this package uses. `Tokenizer` of @distillery/models satisfies it
 * structurally; data does not import models, so any encoder with this shape works.
 */
export interface TextEncoderLike extends VocabLike {
  /** Encodes texts, or [first, second] pairs, one row each. */
  encodeBatch(inputs: readonly string[] | readonly (readonly [string, string])[], options?: EncodeOptionsLike): EncodedLike;
}
