import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { DistilleryError, type Batch } from '@distillery/core';
import { saveTokenizerJson } from './tokenizer-bert.js';
import { checkTokenizerJson } from './tokenizer-check.js';

/** A Hugging Face `tokenizer.json`, as far as this package reads it; other keys pass through. */
export interface TokenizerJson {
  model: { type: string; unk_token?: string; vocab?: unknown; [key: string]: unknown };
  added_tokens?: { id: number; content: string; special?: boolean; [key: string]: unknown }[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  padding?: { pad_id?: number; pad_token?: string; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/** Which tokens play the special roles, when the tokenizer.json does not make it clear. */
export interface SpecialTokenNames {
  pad?: string;
  unk?: string;
  cls?: string;
  sep?: string;
  mask?: string;
}

/** Options of the Tokenizer constructor. */
export interface TokenizerOptions {
  /** Overrides the special tokens found in the tokenizer.json (by content). */
  specialTokens?: SpecialTokenNames;
}

/** How to truncate and pad. */
export interface EncodeOptions {
  /** Longest sequence, special tokens included; no limit when omitted. */
  maxLength?: number;
  /** 'longest': to the longest row of the call; 'max_length': to maxLength; false: none. @default 'longest' */
  padding?: 'longest' | 'max_length' | false;
  /** Cut rows longer than maxLength (longest-first for pairs); when false they fail instead. @default true */
  truncation?: boolean;
}

/** Token ids of a batch of rows, right-padded as asked. */
export interface Encoded {
  inputIds: number[][];
  /** 1 = token, 0 = padding. */
  attentionMask: number[][];
  /** 0 for the first segment, 1 for the second of a pair (as the post-processor assigns them). */
  tokenTypeIds: number[][];
}

/** The parts of @huggingface/tokenizers 0.2 used here (its published d.ts files do not resolve under NodeNext). */
interface HfTokenizerApi {
  tokenize(text: string, options?: { add_special_tokens?: boolean }): string[];
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  post_processor: ((tokens: string[], pair: string[] | null, addSpecialTokens: boolean) =>
    { tokens: string[]; tokens_pair?: string[] | null; token_type_ids?: number[] }) | null;
}

const CANDIDATES: Record<keyof SpecialTokenNames, string[]> = {
  pad: ['[PAD]', '<pad>'], unk: ['[UNK]', '<unk>'], cls: ['[CLS]', '<s>'], sep: ['[SEP]', '</s>'], mask: ['[MASK]', '<mask>'],
};

/**
 * A Hugging Face `tokenizer.json` (WordPiece, BPE, ...) run by @huggingface/tokenizers, with the
 * truncation, padding and [CLS] … [SEP] (… [SEP]) framing the models here expect.
 */
export class Tokenizer {
  /** Number of ids (the largest id + 1). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  readonly unkId: number;
  /** Ids of every special token (added tokens marked special, and the five above). */
  readonly specialIds: ReadonlySet<number>;
  /** The tokenizer.json this tokenizer was built from. */
  readonly json: TokenizerJson;
  private readonly hf: HfTokenizerApi;
  private readonly specialCount: { single: number; pair: number };
  private readonly source: string;

  /**
   * Builds from a parsed tokenizer.json, a tokenizer.json file, or a folder holding one. A file that
   * fails checkTokenizerJson throws a TokenizerFileError naming the file, the JSON path and the value.
   */
  constructor(source: string | TokenizerJson, options: TokenizerOptions = {}) {
    this.source = typeof source === 'string' ? resolveFile(source) : 'tokenizer.json object';
    // Checked before the library sees it: it crashes or hangs on some damaged files (see checkTokenizerJson).
    this.json = checkTokenizerJson(typeof source === 'string' ? readJson(this.source) : source, this.source);
    try {
      // The library iterates added_tokens unconditionally and requires a (possibly empty) tokenizer_config.
      const full = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...this.json };
      this.hf = new HfTokenizer(full, {}) as unknown as HfTokenizerApi;
    } catch (cause) {
      throw new DistilleryError(`Tokenizer: @huggingface/tokenizers could not build ${this.source}: ${(cause as Error).message}`,
        'config', { cause });
    }
    let largest = -1;
    for (const id of this.hf.get_vocab(true).values()) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
    const names = options.specialTokens ?? {};
    const framing = this.framingTokens();
    const find = (role: keyof SpecialTokenNames, found?: string): number => {
      const tried = names[role] !== undefined ? [names[role]!] : [...(found ? [found] : []), ...CANDIDATES[role]];
      for (const token of tried) {
        const id = this.hf.token_to_id(token);
        if (id !== undefined) return id;
      }
      throw new DistilleryError(`Tokenizer: ${this.source} has no ${role} token (tried ${tried.map((t) => `'${t}'`).join(', ')}); ` +
        `name it with specialTokens.${role}`, 'config');
    };
    this.unkId = find('unk', this.json.model.unk_token);
    this.padId = this.json.padding?.pad_id ?? find('pad', this.json.padding?.pad_token);
    this.clsId = find('cls', framing.cls);
    this.sepId = find('sep', framing.sep);
    this.maskId = find('mask');
    this.specialIds = new Set([
      ...(this.json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id),
      this.padId, this.unkId, this.clsId, this.sepId, this.maskId,
    ]);
    const post = this.hf.post_processor;
    this.specialCount = {
      single: post ? post([], null, true).tokens.length : 0,
      pair: post ? post([], [], true).tokens.length : 0,
    };
  }

  /** Encodes one text, or one pair with `pair`. */
  encode(text: string, options: EncodeOptions & { pair?: string } = {}): Encoded {
    const { pair, ...rest } = options;
    return this.encodeBatch(pair === undefined ? [text] : [[text, pair]], rest);
  }

  /** Encodes texts, or [first, second] pairs, one row each. */
  encodeBatch(inputs: readonly string[] | readonly (readonly [string, string])[], options: EncodeOptions = {}): Encoded {
    const { maxLength, padding = 'longest', truncation = true } = options;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
      throw new DistilleryError(`Tokenizer.encode: option 'maxLength' must be a positive integer, got ${maxLength}`, 'config');
    }
    if (padding !== 'longest' && padding !== 'max_length' && padding !== false) {
      throw new DistilleryError(
        `Tokenizer.encode: option 'padding' must be 'longest', 'max_length' or false, got ${JSON.stringify(padding)}`, 'config');
    }
    if (padding === 'max_length' && maxLength === undefined) {
      throw new DistilleryError(`Tokenizer.encode: padding 'max_length' needs option 'maxLength'`, 'config');
    }
    const rows = inputs.map((input, i) => this.encodeRow(input, i, maxLength, truncation));
    const width = padding === 'max_length' ? maxLength! : Math.max(0, ...rows.map((r) => r.ids.length));
    const pad = (row: number[], value: number) => (padding === false ? row : [...row, ...new Array(width - row.length).fill(value)]);
    return {
      inputIds: rows.map((r) => pad(r.ids, this.padId)),
      attentionMask: rows.map((r) => pad(new Array(r.ids.length).fill(1), 0)),
      tokenTypeIds: rows.map((r) => pad(r.types, 0)),
    };
  }

  /** The int32 tensors of a padded encoding (rows must share one length); the caller disposes them. */
  toBatch(encoded: Encoded): Batch {
    const { inputIds, attentionMask, tokenTypeIds } = encoded;
    const width = inputIds[0]?.length ?? 0;
    for (const [key, rows] of Object.entries({ inputIds, attentionMask, tokenTypeIds })) {
      if (rows.length !== inputIds.length) {
        throw new DistilleryError(`Tokenizer.toBatch: ${key} has ${rows.length} rows, inputIds ${inputIds.length}`, 'shape');
      }
      rows.forEach((row, i) => {
        if (row.length !== width) {
          throw new DistilleryError(`Tokenizer.toBatch: ${key}[${i}] has length ${row.length}, row 0 has ${width}; ` +
            `encode with padding 'longest' or 'max_length'`, 'shape');
        }
      });
    }
    const tensor = (rows: number[][]) => tf.tensor2d(rows.flat(), [rows.length, width], 'int32');
    return { inputIds: tensor(inputIds), attentionMask: tensor(attentionMask), tokenTypeIds: tensor(tokenTypeIds) };
  }

  /** Text of token ids, through the tokenizer.json's decoder. */
  decode(ids: readonly number[], { skipSpecialTokens = true }: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** The token of an id, or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** The id of a token, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Writes `dir/tokenizer.json` atomically; returns its path. */
  save(dir: string): Promise<string> {
    return saveTokenizerJson(dir, this.json);
  }

  private encodeRow(input: string | readonly [string, string], row: number, maxLength: number | undefined, truncation: boolean) {
    const isPair = typeof input !== 'string';
    let a = this.hf.tokenize(isPair ? input[0] : input);
    let b = isPair ? this.hf.tokenize(input[1]) : null;
    const special = isPair ? this.specialCount.pair : this.specialCount.single;
    const length = a.length + (b?.length ?? 0) + special;
    if (maxLength !== undefined && length > maxLength) {
      if (!truncation) {
        throw new DistilleryError(`Tokenizer.encode: row ${row} has ${length} tokens, more than maxLength ${maxLength}, ` +
          `and truncation is off`, 'shape');
      }
      const budget = maxLength - special;
      if (budget < 0) {
        throw new DistilleryError(`Tokenizer.encode: maxLength ${maxLength} leaves no room for the ${special} special tokens ` +
          `of a ${isPair ? 'pair' : 'single text'}`, 'config');
      }
      if (b === null) {
        a = a.slice(0, budget);
      } else {
        const [na, nb] = longestFirst(a.length, b.length, budget);
        a = a.slice(0, na);
        b = b.slice(0, nb);
      }
    }
    const post = this.hf.post_processor;
    const framed = post ? post(a, b, true) : { tokens: [...a, ...(b ?? [])] };
    // The ByteLevel post-processor hands the pair back separately instead of appending it.
    const tokens = framed.tokens_pair ? [...framed.tokens, ...framed.tokens_pair] : framed.tokens;
    const types = framed.token_type_ids ?? [...a.map(() => 0), ...(b ?? []).map(() => 1)];
    return { ids: tokens.map((t) => this.hf.token_to_id(t) ?? this.unkId), types: types.map((t) => t ?? 0) };
  }

  /** The [CLS]/[SEP] roles as the post-processor names them (BertProcessing, RobertaProcessing, TemplateProcessing). */
  private framingTokens(): { cls?: string; sep?: string } {
    const post = this.json.post_processor as Record<string, any> | null | undefined;
    if (!post) return {};
    if (Array.isArray(post.cls) && Array.isArray(post.sep)) return { cls: post.cls[0], sep: post.sep[0] };
    if (post.type === 'TemplateProcessing' && Array.isArray(post.single)) {
      const specials = post.single.filter((item: any) => item?.SpecialToken).map((item: any) => item.SpecialToken.id as string);
      return { cls: specials.length > 1 ? specials[0] : undefined, sep: specials.at(-1) };
    }
    return {};
  }
}

/**
 * Lengths after longest-first truncation of a pair to `budget` tokens, as the Rust tokenizers crate
 * computes them: the shorter keeps its length if the longer can absorb the cut, else both get half
 * (the second the odd token).
 */
export function longestFirst(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2;
  let [short, long] = swap ? [n2, n1] : [n1, n2];
  long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}

function resolveFile(source: string): string {
  try {
    return statSync(source).isDirectory() ? path.join(source, 'tokenizer.json') : source;
  } catch (cause) {
    throw new DistilleryError(`Tokenizer: cannot read ${source}: ${(cause as Error).message}`, 'config', { cause });
  }
}

function readJson(file: string): TokenizerJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new DistilleryError(`Tokenizer: cannot read ${file}: ${(cause as Error).message}`, 'config', { cause });
  }
  try {
    return JSON.parse(text) as TokenizerJson;
  } catch (cause) {
    throw new DistilleryError(`Tokenizer: ${file} is not valid JSON: ${(cause as Error).message}`, 'config', { cause });
  }
}
