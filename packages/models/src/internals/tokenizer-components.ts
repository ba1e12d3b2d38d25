import * as hf from '@huggingface/tokenizers';
import { JsonChecker, jsonPath, type JsonObject } from './json-checker.js';
import { nestedQuantifier } from './regex-risk.js';

/** Tokens and ids of a checked vocabulary, and where each id was given. */
export interface Vocabulary {
  byToken: ReadonlyMap<string, number>;
  byId: ReadonlyMap<number, { token: string; path: string }>;
}

export type Section = 'normalizer' | 'pre_tokenizer' | 'post_processor' | 'decoder';

// The library's published d.ts files do not resolve under NodeNext beyond Tokenizer (see tokenizer.ts).
const SplitPreTokenizer = (hf as unknown as { SplitPreTokenizer: new (config: object) => unknown }).SplitPreTokenizer;

/** Sequences nest (a Sequence of Sequences); real files use one or two levels. */
const MAX_NESTING = 8;
const MAX_PATTERN_LENGTH = 10_000;
const MAX_SEQUENCE_ITEMS = 256;
/** Token type ids (segment ids) are a handful; type_vocab_size is 2 for BERT. */
const MAX_TYPE_ID = 255;

type Check = (c: JsonChecker, node: JsonObject, path: string, vocab: Vocabulary, depth: number) => void;

const none: Check = () => {};
const fields = (types: Parameters<JsonChecker['optional']>[2]): Check => (c, node, path) => c.optional(node, path, types);
const sequence = (section: Section, key: string): Check => (c, node, path, vocab, depth) => {
  c.array(node[key], jsonPath(path, key), MAX_SEQUENCE_ITEMS)
    .forEach((item, i) => checkComponent(c, section, item, jsonPath(jsonPath(path, key), i), vocab, depth + 1));
};
const replace: Check = (c, node, path) => {
  checkPattern(c, node.pattern, jsonPath(path, 'pattern'));
  c.string(node.content, jsonPath(path, 'content'));
};

/** The types @huggingface/tokenizers 0.2 builds, per section, and what each reads. */
const COMPONENTS: Record<Section, Record<string, Check>> = {
  normalizer: {
    BertNormalizer: fields({ clean_text: 'boolean', handle_chinese_chars: 'boolean', strip_accents: 'boolean', lowercase: 'boolean' }),
    Precompiled: fields({ precompiled_charsmap: 'string' }),
    Sequence: sequence('normalizer', 'normalizers'),
    Replace: replace,
    NFC: none, NFD: none, NFKC: none, NFKD: none, StripAccents: none, Lowercase: none,
    Strip: fields({ strip_left: 'boolean', strip_right: 'boolean' }),
    Prepend: (c, node, path) => c.string(node.prepend, jsonPath(path, 'prepend')),
  },
  pre_tokenizer: {
    BertPreTokenizer: none, Whitespace: none, WhitespaceSplit: none,
    Sequence: sequence('pre_tokenizer', 'pretokenizers'),
    Metaspace: (c, node, path) => {
      c.optional(node, path, { replacement: 'string', str_rep: 'string', add_prefix_space: 'boolean', split: 'boolean' });
      if (node.prepend_scheme !== undefined) c.oneOf(node.prepend_scheme, jsonPath(path, 'prepend_scheme'), ['always', 'first', 'never']);
    },
    ByteLevel: fields({ add_prefix_space: 'boolean', trim_offsets: 'boolean', use_regex: 'boolean' }),
    Split: (c, node, path) => {
      checkPattern(c, node.pattern, jsonPath(path, 'pattern'));
      c.optional(node, path, { invert: 'boolean' });
      if (node.behavior !== undefined) {
        c.oneOf(node.behavior, jsonPath(path, 'behavior'), ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']);
      }
    },
    Punctuation: none,
    Digits: fields({ individual_digits: 'boolean' }),
    Replace: replace,
    // A length of 0 would loop forever.
    FixedLength: (c, node, path) => c.integer(node.length, jsonPath(path, 'length'), 1, 1 << 20),
  },
  post_processor: {
    TemplateProcessing: (c, node, path, vocab) => {
      checkTemplate(c, node.single, jsonPath(path, 'single'), ['A'], vocab);
      checkTemplate(c, node.pair, jsonPath(path, 'pair'), ['A', 'B'], vocab);
      if (node.special_tokens !== undefined && node.special_tokens !== null) c.object(node.special_tokens, jsonPath(path, 'special_tokens'));
    },
    ByteLevel: fields({ add_prefix_space: 'boolean', trim_offsets: 'boolean', use_regex: 'boolean' }),
    BertProcessing: (c, node, path, vocab) => { checkFrame(c, node, path, 'cls', vocab); checkFrame(c, node, path, 'sep', vocab); },
    RobertaProcessing: (c, node, path, vocab) => { checkFrame(c, node, path, 'cls', vocab); checkFrame(c, node, path, 'sep', vocab); },
    Sequence: sequence('post_processor', 'processors'),
  },
  decoder: {
    ByteLevel: none, Fuse: none, ByteFallback: none,
    WordPiece: fields({ prefix: 'string', cleanup: 'boolean' }),
    Metaspace: fields({ replacement: 'string', add_prefix_space: 'boolean' }),
    BPEDecoder: fields({ suffix: 'string' }),
    CTC: fields({ pad_token: 'string', word_delimiter_token: 'string', cleanup: 'boolean' }),
    Sequence: sequence('decoder', 'decoders'),
    Replace: replace,
    Strip: (c, node, path) => {
      c.optional(node, path, { content: 'string' });
      for (const key of ['start', 'stop']) if (node[key] !== undefined) c.integer(node[key], jsonPath(path, key), 0, 1 << 20);
    },
  },
};

/** Checks one normalizer, pre-tokenizer, post-processor or decoder (and what it holds). */
export function checkComponent(c: JsonChecker, section: Section, value: unknown, path: string, vocab: Vocabulary, depth: number): void {
  if (depth > MAX_NESTING) c.fail(path, value, `Sequences nested deeper than ${MAX_NESTING} levels`);
  const node = c.object(value, path);
  const known = COMPONENTS[section];
  const type = typeof node.type === 'string' && Object.hasOwn(known, node.type) ? node.type : undefined;
  if (type === undefined) c.expected(jsonPath(path, 'type'), node.type, `a ${section.replace('_', '-')} type (${Object.keys(known).join(', ')})`);
  known[type](c, node, path, vocab, depth);
}

/** `{"Regex": "..."}` or `{"String": "..."}`; a regex must compile and must not backtrack catastrophically. */
function checkPattern(c: JsonChecker, value: unknown, path: string): void {
  const pattern = c.object(value, path);
  const keys = Object.keys(pattern);
  if (keys.length !== 1 || (keys[0] !== 'Regex' && keys[0] !== 'String')) c.expected(path, value, `{"Regex": "..."} or {"String": "..."}`);
  const at = jsonPath(path, keys[0]);
  const source = c.string(pattern[keys[0]], at);
  if (keys[0] === 'String') return;
  if (source.length > MAX_PATTERN_LENGTH) c.fail(at, `${source.slice(0, 40)}...`, `a regular expression of ${source.length} characters, more than ${MAX_PATTERN_LENGTH}`);
  const nested = nestedQuantifier(source);
  if (nested !== undefined) {
    c.fail(at, source, `${JSON.stringify(nested)} repeats a group that itself repeats (nested quantifiers): matching can ` +
      `take time exponential in the text's length; rewrite the expression without the nesting`);
  }
  try {
    // The library's own translation of Oniguruma syntax and compilation, so that what passes here builds.
    new SplitPreTokenizer({ type: 'Split', pattern: { Regex: source }, invert: false });
  } catch (cause) {
    c.fail(at, source, `not a regular expression @huggingface/tokenizers can compile: ${(cause as Error).message}`);
  }
}

/** A TemplateProcessing template: special tokens of the vocabulary, and each of `sequences` exactly once. */
function checkTemplate(c: JsonChecker, value: unknown, path: string, sequences: readonly ('A' | 'B')[], vocab: Vocabulary): void {
  const items = c.array(value, path, MAX_SEQUENCE_ITEMS);
  const seen: string[] = [];
  items.forEach((item, i) => {
    const at = jsonPath(path, i);
    const node = c.object(item, at);
    const keys = Object.keys(node);
    if (keys.length !== 1 || (keys[0] !== 'SpecialToken' && keys[0] !== 'Sequence')) {
      c.expected(at, item, `{"SpecialToken": {...}} or {"Sequence": {...}}`);
    }
    const inner = c.object(node[keys[0]], jsonPath(at, keys[0]));
    const id = jsonPath(jsonPath(at, keys[0]), 'id');
    if (keys[0] === 'SpecialToken') {
      const token = c.string(inner.id, id);
      if (!vocab.byToken.has(token)) c.fail(id, token, `${JSON.stringify(token)} is not in the vocabulary`);
    } else {
      seen.push(c.oneOf(inner.id, id, sequences));
    }
    c.integer(inner.type_id, jsonPath(jsonPath(at, keys[0]), 'type_id'), 0, MAX_TYPE_ID);
  });
  for (const s of sequences) {
    const count = seen.filter((x) => x === s).length;
    if (count !== 1) c.fail(path, value, `expected sequence ${s} exactly once, found it ${count} times`);
  }
}

/** BertProcessing / RobertaProcessing `cls` / `sep`: [token, id], as the vocabulary has them. */
function checkFrame(c: JsonChecker, node: JsonObject, path: string, key: 'cls' | 'sep', vocab: Vocabulary): void {
  const at = jsonPath(path, key);
  const frame = node[key];
  if (!Array.isArray(frame) || frame.length !== 2 || typeof frame[0] !== 'string') c.expected(at, frame, '[token, id]');
  const [token, id] = frame as [string, unknown];
  const known = vocab.byToken.get(token);
  if (known === undefined) c.fail(at, frame, `${JSON.stringify(token)} is not in the vocabulary`);
  if (id !== known) c.fail(`${at}[1]`, id, `${JSON.stringify(token)} has id ${known} in the vocabulary`);
}
