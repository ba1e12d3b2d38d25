import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, selectBackend, silentLogger } from '@distillery/core';
import { longestFirst, Tokenizer, type TokenizerJson } from './tokenizer.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'play', '##ing', '##ed', '.', 'dog'];

/** A tiny WordPiece tokenizer.json written by hand, with BertProcessing (not a template) for framing. */
const tinyJson = (): TokenizerJson => ({
  version: '1.0',
  added_tokens: [0, 1, 2, 3, 4].map((id) => ({ id, content: VOCAB[id], special: true, normalized: false })),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: { type: 'BertProcessing', cls: ['[CLS]', 2], sep: ['[SEP]', 3] },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100,
    vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])),
  },
});

const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-tok-'));
const file = path.join(tmp, 'tokenizer.json');
let tok: Tokenizer;

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  writeFileSync(file, JSON.stringify(tinyJson()));
  tok = new Tokenizer(file);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Tokenizer on a hand-written tokenizer.json', () => {
  it('reads the special ids and vocabulary size from the file', () => {
    expect([tok.vocabSize, tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([13, 0, 1, 2, 3, 4]);
    expect([...tok.specialIds].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(tok.tokenToId('##ing')).toBe(9);
    expect(tok.idToToken(12)).toBe('dog');
    expect(tok.tokenToId('bird')).toBeUndefined();
  });

  it('encodes with WordPiece and frames with [CLS]/[SEP]', () => {
    expect(tok.encode('The cat PLAYED.').inputIds).toEqual([[2, 5, 6, 8, 10, 11, 3]]);
    expect(tok.encode('the bird sat').inputIds).toEqual([[2, 5, 1, 7, 3]]);
    expect(tok.encode('the cat', { pair: 'dog sat' })).toEqual({
      inputIds: [[2, 5, 6, 3, 12, 7, 3]], attentionMask: [[1, 1, 1, 1, 1, 1, 1]], tokenTypeIds: [[0, 0, 0, 0, 1, 1, 1]],
    });
    expect(tok.encode('')).toEqual({ inputIds: [[2, 3]], attentionMask: [[1, 1]], tokenTypeIds: [[0, 0]] });
    expect(tok.decode([2, 6, 8, 9, 3])).toBe('cat playing');
  });

  it('a folder holding tokenizer.json or the parsed object load the same tokenizer', () => {
    const fromDir = new Tokenizer(tmp);
    const fromObject = new Tokenizer(tinyJson());
    for (const t of [fromDir, fromObject]) expect(t.encodeBatch(['the cat sat', 'dog'])).toEqual(tok.encodeBatch(['the cat sat', 'dog']));
  });

  it('pads batches with the pad id, to the longest row or to maxLength, or not at all', () => {
    expect(tok.encodeBatch(['the cat sat', 'dog']).inputIds).toEqual([[2, 5, 6, 7, 3], [2, 12, 3, 0, 0]]);
    const fixed = tok.encodeBatch([['the', 'dog'], ['cat', 'sat']], { padding: 'max_length', maxLength: 7 });
    expect(fixed.inputIds).toEqual([[2, 5, 3, 12, 3, 0, 0], [2, 6, 3, 7, 3, 0, 0]]);
    expect(fixed.attentionMask[0]).toEqual([1, 1, 1, 1, 1, 0, 0]);
    expect(fixed.tokenTypeIds[0]).toEqual([0, 0, 0, 1, 1, 0, 0]);
    expect(tok.encodeBatch(['the cat sat', 'dog'], { padding: false }).inputIds).toEqual([[2, 5, 6, 7, 3], [2, 12, 3]]);
  });

  it('truncates singles to maxLength and pairs longest-first', () => {
    expect(tok.encode('the cat sat the dog', { maxLength: 4 }).inputIds).toEqual([[2, 5, 6, 3]]);
    // 5 + 1 tokens into 6 - 3 = 3 slots: the 1-token side keeps its token.
    expect(tok.encode('the cat sat the dog', { pair: 'dog', maxLength: 6 }).inputIds).toEqual([[2, 5, 6, 3, 12, 3]]);
    // 3 + 3 into 5 - 3 = 2: one each.
    expect(tok.encode('the cat sat', { pair: 'dog sat the', maxLength: 5 }).inputIds).toEqual([[2, 5, 3, 12, 3]]);
  });

  it('longestFirst follows the Rust tokenizers crate', () => {
    expect(longestFirst(3, 4, 10)).toEqual([3, 4]);
    expect(longestFirst(2, 9, 6)).toEqual([2, 4]);
    expect(longestFirst(9, 2, 6)).toEqual([4, 2]);
    expect(longestFirst(5, 5, 5)).toEqual([2, 3]);
    expect(longestFirst(9, 7, 5)).toEqual([3, 2]);
    expect(longestFirst(4, 4, 0)).toEqual([0, 0]);
  });

  it('fails clearly on bad options, files and tokenizers', () => {
    const fails = (fn: () => unknown, text: RegExp) => {
      expect(fn).toThrow(DistilleryError);
      expect(fn).toThrow(text);
    };
    fails(() => tok.encode('the', { padding: 'max_length' }), /padding 'max_length' needs option 'maxLength'/);
    fails(() => tok.encode('the cat sat', { maxLength: 3, truncation: false }), /row 0 has 5 tokens, more than maxLength 3/);
    fails(() => tok.encode('the', { pair: 'cat', maxLength: 2 }), /leaves no room for the 3 special tokens of a pair/);
    fails(() => tok.encode('the', { maxLength: 0 }), /'maxLength' must be a positive integer/);
    fails(() => tok.toBatch(tok.encodeBatch(['the cat', 'dog'], { padding: false })), /inputIds\[1\] has length 3, row 0 has 4/);
    fails(() => new Tokenizer(path.join(tmp, 'missing.json')), /cannot read .*missing\.json/);
    const bad = path.join(tmp, 'bad.json');
    writeFileSync(bad, '{ "model": ');
    fails(() => new Tokenizer(bad), /bad\.json is not valid JSON/);
    const noMask = tinyJson();
    delete (noMask.model.vocab as Record<string, number>)['[MASK]'];
    noMask.added_tokens = noMask.added_tokens!.filter((t) => t.content !== '[MASK]');
    fails(() => new Tokenizer(noMask), /has no mask token \(tried '\[MASK\]', '<mask>'\); name it with specialTokens\.mask/);
    expect(new Tokenizer(noMask, { specialTokens: { mask: '.' } }).maskId).toBe(11);
    fails(() => new Tokenizer({ model: { type: 'Nonsense' } }), /tokenizer\.json object: model\.type: expected one of 'WordPiece', 'BPE', 'Unigram', got "Nonsense"/);
  });
});
