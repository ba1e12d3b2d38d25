import { checkComponent, type Vocabulary } from './internals/tokenizer-components.js';
import { JsonChecker, jsonPath, type JsonObject } from './internals/json-checker.js';
import type { TokenizerJson } from './tokenizer.js';

/** The most ids a tokenizer.json may use: 2 Mi (the largest public vocabularies hold about 256k tokens). */
export const MAX_VOCAB_SIZE = 1 << 21;
/** The longest sequence a padding or truncation setting may name: 1 Mi tokens. */
export const MAX_SEQUENCE_LENGTH = 1 << 20;
/** WordPiece tries every prefix of a word (cubic in its length): longer words become [UNK] anyway. */
const MAX_WORD_CHARS = 1000;

/**
 * Checks a parsed tokenizer.json before @huggingface/tokenizers reads it: every part it or this
 * package reads has the right type and a sane size, so that a damaged or hostile file fails here,
 * naming the file, the JSON path and the value, instead of crashing inside the library, hanging, or
 * training with a meaningless id. Checked: the model and its vocabulary (integer ids, none
 * duplicated, below MAX_VOCAB_SIZE and without more gaps than tokens), added tokens, normalizer,
 * pre-tokenizer, post-processor (templates that frame what they claim), decoder, regular expressions
 * (none with nested quantifiers: see nestedQuantifier), padding and truncation.
 */
export function checkTokenizerJson(json: unknown, file: string): TokenizerJson {
  const c = new JsonChecker(file);
  const root = c.object(json, '');
  const vocab = checkModel(c, c.object(root.model, 'model'));
  checkAddedTokens(c, root.added_tokens, vocab);
  checkIdRange(c, vocab);
  for (const section of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) {
    if (root[section] !== undefined && root[section] !== null) checkComponent(c, section, root[section], section, vocab, 0);
  }
  checkPadding(c, root.padding, vocab);
  checkTruncation(c, root.truncation);
  return root as TokenizerJson;
}

function newVocabulary(): Vocabulary & { add(token: string, id: number, path: string): void } {
  const byToken = new Map<string, number>();
  const byId = new Map<number, { token: string; path: string }>();
  return {
    byToken, byId,
    add(token, id, path) {
      byToken.set(token, id);
      byId.set(id, { token, path });
    },
  };
}

function checkModel(c: JsonChecker, model: JsonObject) {
  const type = c.oneOf(model.type, 'model.type', ['WordPiece', 'BPE', 'Unigram']);
  const vocab = newVocabulary();
  if (type === 'Unigram') {
    const entries = c.array(model.vocab, 'model.vocab', MAX_VOCAB_SIZE);
    if (entries.length === 0) c.expected('model.vocab', model.vocab, 'a non-empty array of [token, score] pairs');
    entries.forEach((entry, id) => {
      const path = `model.vocab[${id}]`;
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
        c.expected(path, entry, 'a [token, score] pair of a string and a finite number');
      }
      const token = entry[0] as string;
      const earlier = vocab.byToken.get(token);
      if (earlier !== undefined) c.fail(path, entry, `token ${JSON.stringify(token)} is also model.vocab[${earlier}]`);
      vocab.add(token, id, path);
    });
    c.integer(model.unk_id, 'model.unk_id', 0, entries.length - 1);
    c.optional(model, 'model', { byte_fallback: 'boolean' });
    return vocab;
  }
  const tokens = c.object(model.vocab, 'model.vocab');
  const keys = Object.keys(tokens);
  if (keys.length > MAX_VOCAB_SIZE) c.fail('model.vocab', `{${keys.length} tokens}`, `${keys.length} tokens, more than ${MAX_VOCAB_SIZE.toLocaleString('en-US')}`);
  for (const token of keys) {
    const path = jsonPath('model.vocab', token);
    const id = c.integer(tokens[token], path, 0, MAX_VOCAB_SIZE - 1);
    const holder = vocab.byId.get(id);
    if (holder) c.fail(path, id, `id ${id} is also the id of ${holder.path}`);
    vocab.add(token, id, path);
  }
  if (type === 'WordPiece') {
    c.string(model.unk_token, 'model.unk_token');
    c.string(model.continuing_subword_prefix, 'model.continuing_subword_prefix');
    if (model.max_input_chars_per_word !== undefined) c.integer(model.max_input_chars_per_word, 'model.max_input_chars_per_word', 1, MAX_WORD_CHARS);
  } else {
    // All in one form, the first one's: the library reads them all as the first is written.
    const merges = c.array(model.merges, 'model.merges', MAX_VOCAB_SIZE);
    const pairs = Array.isArray(merges[0]);
    merges.forEach((merge, i) => {
      const pair = Array.isArray(merge) && merge.length === 2 && merge.every((m) => typeof m === 'string');
      if (pairs ? !pair : typeof merge !== 'string') {
        c.expected(`model.merges[${i}]`, merge, pairs ? 'a pair ["a", "b"], as model.merges[0]' : 'a string "a b", as model.merges[0]');
      }
    });
    c.optional(model, 'model', {
      unk_token: 'string', continuing_subword_prefix: 'string', end_of_word_suffix: 'string',
      fuse_unk: 'boolean', byte_fallback: 'boolean', ignore_merges: 'boolean', dropout: 'number',
    });
    if (typeof model.dropout === 'number' && (model.dropout < 0 || model.dropout > 1)) c.expected('model.dropout', model.dropout, 'a number from 0 to 1, or null');
  }
  return vocab;
}

/** Added tokens join the vocabulary: same token, same id; one token per id. */
function checkAddedTokens(c: JsonChecker, value: unknown, vocab: ReturnType<typeof newVocabulary>): void {
  if (value === undefined || value === null) return;
  c.array(value, 'added_tokens', MAX_VOCAB_SIZE).forEach((entry, i) => {
    const path = `added_tokens[${i}]`;
    const token = c.object(entry, path);
    const content = c.string(token.content, `${path}.content`);
    if (content === '') c.expected(`${path}.content`, content, 'a non-empty string');
    const id = c.integer(token.id, `${path}.id`, 0, MAX_VOCAB_SIZE - 1);
    c.optional(token, path, { special: 'boolean', single_word: 'boolean', lstrip: 'boolean', rstrip: 'boolean', normalized: 'boolean' });
    const known = vocab.byToken.get(content);
    if (known !== undefined && known !== id) c.fail(`${path}.id`, id, `${JSON.stringify(content)} has id ${known} in ${vocab.byId.get(known)!.path}`);
    const holder = vocab.byId.get(id);
    if (holder && holder.token !== content) c.fail(`${path}.id`, id, `id ${id} is also the id of ${holder.path} (${JSON.stringify(holder.token)})`);
    vocab.add(content, id, `${path}.id`);
  });
}

/**
 * Ids index the embedding table, so the largest one sizes it: ids may leave gaps, but no more than
 * there are tokens (plus 1,024), or a handful of tokens with huge ids would allocate a huge model.
 */
function checkIdRange(c: JsonChecker, vocab: Vocabulary): void {
  let largest = -1;
  for (const id of vocab.byId.keys()) largest = Math.max(largest, id);
  const bound = Math.min(MAX_VOCAB_SIZE, 2 * vocab.byId.size + 1024);
  if (largest >= bound) {
    const { path } = vocab.byId.get(largest)!;
    c.fail(path, largest, `id ${largest} is far past the ${vocab.byId.size} tokens of the vocabulary ` +
      `(ids must be below ${bound.toLocaleString('en-US')}: gaps may not outnumber the tokens)`);
  }
}

function checkPadding(c: JsonChecker, value: unknown, vocab: Vocabulary): void {
  if (value === undefined || value === null) return;
  const padding = c.object(value, 'padding');
  let padId: number | undefined;
  if (padding.pad_id !== undefined) {
    padId = c.integer(padding.pad_id, 'padding.pad_id', 0, MAX_VOCAB_SIZE - 1);
    if (!vocab.byId.has(padId)) c.fail('padding.pad_id', padId, `no token has id ${padId}`);
  }
  if (padding.pad_token !== undefined) {
    const token = c.string(padding.pad_token, 'padding.pad_token');
    const id = vocab.byToken.get(token);
    if (id === undefined) c.fail('padding.pad_token', token, `${JSON.stringify(token)} is not in the vocabulary`);
    if (padId !== undefined && id !== padId) c.fail('padding.pad_id', padId, `padding.pad_token ${JSON.stringify(token)} has id ${id}`);
  }
  if (padding.pad_type_id !== undefined) c.integer(padding.pad_type_id, 'padding.pad_type_id', 0, 255);
  if (padding.direction !== undefined) c.oneOf(padding.direction, 'padding.direction', ['Left', 'Right']);
  if (padding.pad_to_multiple_of !== undefined && padding.pad_to_multiple_of !== null) {
    c.integer(padding.pad_to_multiple_of, 'padding.pad_to_multiple_of', 1, MAX_SEQUENCE_LENGTH);
  }
  const strategy = padding.strategy;
  if (strategy !== undefined && strategy !== 'BatchLongest') {
    if (!(typeof strategy === 'object' && strategy !== null && 'Fixed' in strategy && Object.keys(strategy).length === 1)) {
      c.expected('padding.strategy', strategy, `'BatchLongest' or {"Fixed": length}`);
    }
    c.integer((strategy as { Fixed: unknown }).Fixed, 'padding.strategy.Fixed', 1, MAX_SEQUENCE_LENGTH);
  }
}

function checkTruncation(c: JsonChecker, value: unknown): void {
  if (value === undefined || value === null) return;
  const truncation = c.object(value, 'truncation');
  const maxLength = c.integer(truncation.max_length, 'truncation.max_length', 1, MAX_SEQUENCE_LENGTH);
  if (truncation.stride !== undefined) c.integer(truncation.stride, 'truncation.stride', 0, maxLength - 1);
  if (truncation.strategy !== undefined) c.oneOf(truncation.strategy, 'truncation.strategy', ['LongestFirst', 'OnlyFirst', 'OnlySecond']);
  if (truncation.direction !== undefined) c.oneOf(truncation.direction, 'truncation.direction', ['Left', 'Right']);
}
