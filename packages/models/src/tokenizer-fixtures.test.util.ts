// Shared fixtures of the tokenizer tests. Test-only (not packed: *.test.*).
import type { TokenizerJson } from './tokenizer.js';

export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'play', '##ing', '##ed', '.', 'dog'];

/**
 * A tiny WordPiece tokenizer.json as the Rust library writes one for BERT, with a part of every kind
 * the checks read: normalizer and pre-tokenizer Sequences (a Split and a Replace regex among them), a
 * TemplateProcessing post-processor, a decoder Sequence, padding and truncation.
 */
export const tinyTemplateJson = (): TokenizerJson => ({
  version: '1.0',
  truncation: { direction: 'Right', max_length: 16, strategy: 'LongestFirst', stride: 0 },
  padding: { strategy: 'BatchLongest', direction: 'Right', pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: '[PAD]' },
  added_tokens: [0, 1, 2, 3, 4].map((id) => ({
    id, content: TINY_VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  })),
  normalizer: {
    type: 'Sequence',
    normalizers: [
      { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      { type: 'Replace', pattern: { Regex: '\\s{2,}' }, content: ' ' },
    ],
  },
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Split', pattern: { Regex: "'s|'t| ?\\p{L}+| ?\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
      { type: 'Punctuation', behavior: 'Isolated' },
    ],
  },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'Sequence', decoders: [{ type: 'WordPiece', prefix: '##', cleanup: true }, { type: 'Strip', content: ' ', start: 0, stop: 1 }] },
  model: {
    type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
    vocab: Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i])),
  },
});
