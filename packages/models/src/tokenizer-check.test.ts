import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { nestedQuantifier } from './internals/regex-risk.js';
import { TokenizerFileError } from './internals/json-checker.js';
import { Tokenizer, type TokenizerJson } from './tokenizer.js';
import { MAX_SEQUENCE_LENGTH, MAX_VOCAB_SIZE } from './tokenizer-check.js';
import { tinyTemplateJson } from './tokenizer-fixtures.test.util.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'distillery-tok-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Json = Record<string, any>;
let written = 0;

/** The error a change makes, checked to be a TokenizerFileError naming the file, the path and the value. */
function refused(change: (json: Json) => void, jsonPath: string, value: unknown, problem: string | RegExp): TokenizerFileError {
  const file = path.join(tmp, `case-${written++}.json`);
  const json = tinyTemplateJson() as Json;
  change(json);
  writeFileSync(file, JSON.stringify(json));
  let error: unknown;
  const start = performance.now();
  try { new Tokenizer(file); } catch (e) { error = e; }
  expect(performance.now() - start).toBeLessThan(1000);
  expect(error).toBeInstanceOf(TokenizerFileError);
  const e = error as TokenizerFileError;
  expect(e).toBeInstanceOf(DistilleryError);
  expect(e.code).toBe('config');
  expect([e.file, e.jsonPath, e.value]).toEqual([file, jsonPath, value]);
  expect(e.message.startsWith(`Tokenizer: ${file}: ${jsonPath}: `)).toBe(true);
  const said = e.message.slice(`Tokenizer: ${file}: ${jsonPath}: `.length);
  if (typeof problem === 'string') expect(said).toBe(problem);
  else expect(said).toMatch(problem);
  return e;
}

const template = (json: Json) => json.post_processor;
const split = (json: Json) => json.pre_tokenizer.pretokenizers[1];

describe('checkTokenizerJson: the fixture', () => {
  it('bounds ids at 2 Mi and sequences at 1 Mi', () => {
    expect([MAX_VOCAB_SIZE, MAX_SEQUENCE_LENGTH]).toEqual([2_097_152, 1_048_576]);
  });

  it('loads and encodes (the checks refuse nothing a real BERT tokenizer.json has)', () => {
    const tok = new Tokenizer(tinyTemplateJson());
    expect(tok.encode('The cat  PLAYED.').inputIds).toEqual([[2, 5, 6, 8, 10, 11, 3]]);
    expect(tok.encode('the cat', { pair: 'dog sat' }).tokenTypeIds).toEqual([[0, 0, 0, 0, 1, 1, 1]]);
    expect([tok.padId, tok.clsId, tok.sepId, tok.vocabSize]).toEqual([0, 2, 3, 13]);
  });
});

describe('checkTokenizerJson: TemplateProcessing', () => {
  const cases: [string, (json: Json) => void, string, unknown, string][] = [
    ['pair: null (was a TypeError "type is not iterable")', (j) => { template(j).pair = null; }, 'post_processor.pair', null, 'expected an array, got null'],
    ['pair missing', (j) => { delete template(j).pair; }, 'post_processor.pair', undefined, 'expected an array, got missing'],
    ['single missing', (j) => { delete template(j).single; }, 'post_processor.single', undefined, 'expected an array, got missing'],
    ['single a string', (j) => { template(j).single = '[CLS] $A [SEP]'; }, 'post_processor.single', '[CLS] $A [SEP]', 'expected an array, got "[CLS] $A [SEP]"'],
    ['single holding B', (j) => { template(j).single[1].Sequence.id = 'B'; }, 'post_processor.single[1].Sequence.id', 'B', `expected one of 'A', got "B"`],
    ['pair without B', (j) => { template(j).pair[3].Sequence.id = 'A'; }, 'post_processor.pair', expect.any(Array), 'expected sequence A exactly once, found it 2 times'],
    ['an item null', (j) => { template(j).single[0] = null; }, 'post_processor.single[0]', null, 'expected an object, got null'],
    ['an unknown item', (j) => { template(j).single[0] = { Special: {} }; }, 'post_processor.single[0]', { Special: {} }, 'expected {"SpecialToken": {...}} or {"Sequence": {...}}, got {"Special":{}}'],
    ['a special token outside the vocabulary', (j) => { template(j).single[0].SpecialToken.id = '<s>'; }, 'post_processor.single[0].SpecialToken.id', '<s>', '"<s>" is not in the vocabulary'],
    ['type_id 1e9', (j) => { template(j).pair[4].SpecialToken.type_id = 1e9; }, 'post_processor.pair[4].SpecialToken.type_id', 1e9, 'expected an integer from 0 to 255, got 1000000000'],
    ['BertProcessing cls id not the vocabulary\'s', (j) => { j.post_processor = { type: 'BertProcessing', cls: ['[CLS]', 7], sep: ['[SEP]', 3] }; }, 'post_processor.cls[1]', 7, '"[CLS]" has id 2 in the vocabulary'],
    ['RobertaProcessing sep missing', (j) => { j.post_processor = { type: 'RobertaProcessing', cls: ['[CLS]', 2] }; }, 'post_processor.sep', undefined, 'expected [token, id], got missing'],
    ['an unknown post-processor', (j) => { j.post_processor = { type: 'Templates' }; }, 'post_processor.type', 'Templates',
      'expected a post-processor type (TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence), got "Templates"'],
  ];
  it.each(cases)('%s', (_, change, jsonPath, value, problem) => { refused(change, jsonPath, value, problem); });
});

describe('checkTokenizerJson: regular expressions', () => {
  // The 28-character pattern of the report took 5 s on 30 characters; refusing it takes no time.
  const nested = ['(a+)+$', '(.*)*x', '(\\w+\\s?)+$', '((ab)*c){2,}', '(?:[a-z]+\\d*)+!', '(x|y+){1,9}', '^(\\p{L}+ ?)*\\p{N}$'];
  it.each(nested)('refuses the nested quantifiers of %s, in a Split and in a Replace', (regex) => {
    refused((j) => { split(j).pattern = { Regex: regex }; }, 'pre_tokenizer.pretokenizers[1].pattern.Regex', regex,
      /repeats a group that itself repeats \(nested quantifiers\): matching can take time exponential/);
    refused((j) => { j.normalizer.normalizers[1].pattern = { Regex: regex }; }, 'normalizer.normalizers[1].pattern.Regex', regex, /nested quantifiers/);
    refused((j) => { j.decoder.decoders[1] = { type: 'Replace', pattern: { Regex: regex }, content: '' }; }, 'decoder.decoders[1].pattern.Regex', regex, /nested quantifiers/);
  });

  it('names the repeated group', () => {
    expect(nestedQuantifier('ab(\\w+\\s?)+$')).toBe('(\\w+\\s?)+');
    expect(nestedQuantifier('x((ab)*c){2,}?y')).toBe('((ab)*c){2,}?');
    expect(nestedQuantifier('[(a+)+]|\\(a+\\)+')).toBeUndefined(); // a class and escaped parentheses are no groups
    expect(nestedQuantifier('(a+)?b|(a{2})c|(\\p{L}{1,3})')).toBeUndefined(); // repeated once at most
    expect(nestedQuantifier('(a{1,5}){3}')).toBe('(a{1,5}){3}');
  });

  it('accepts the split patterns of real tokenizers (GPT-2, Llama 3, Qwen2, GPT-4o, BLOOM, DeepSeek)', () => {
    const real = [
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      ' ?[^(\\s|[.,!?…。，、।۔،])]+',
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ];
    for (const regex of real) {
      expect(nestedQuantifier(regex), regex).toBeUndefined();
      const json = tinyTemplateJson() as Json;
      split(json).pattern = { Regex: regex };
      expect(new Tokenizer(json as TokenizerJson).encode('the cat sat.').inputIds[0].length).toBeGreaterThan(2);
    }
  });

  it('refuses a pattern that does not compile, or is neither Regex nor String', () => {
    refused((j) => { split(j).pattern = { Regex: '(unclosed' }; }, 'pre_tokenizer.pretokenizers[1].pattern.Regex', '(unclosed',
      /^not a regular expression @huggingface\/tokenizers can compile: /);
    refused((j) => { split(j).pattern = { Regex: 5 }; }, 'pre_tokenizer.pretokenizers[1].pattern.Regex', 5, 'expected a string, got 5');
    refused((j) => { split(j).pattern = { Glob: '*' }; }, 'pre_tokenizer.pretokenizers[1].pattern', { Glob: '*' }, 'expected {"Regex": "..."} or {"String": "..."}, got {"Glob":"*"}');
    refused((j) => { delete split(j).pattern; }, 'pre_tokenizer.pretokenizers[1].pattern', undefined, 'expected an object, got missing');
    refused((j) => { split(j).behavior = 'Merged'; }, 'pre_tokenizer.pretokenizers[1].behavior', 'Merged', /^expected one of 'Removed', 'Isolated'/);
  });
});

describe('checkTokenizerJson: vocabulary ids', () => {
  const dog = 'model.vocab.dog';
  const cases: [string, unknown, string][] = [
    ['1e8 (took seconds)', 1e8, 'expected an integer from 0 to 2,097,151, got 100000000'],
    ['1e9 (took a minute)', 1e9, 'expected an integer from 0 to 2,097,151, got 1000000000'],
    ['-1', -1, 'expected an integer from 0 to 2,097,151, got -1'],
    ['1.5', 1.5, 'expected an integer from 0 to 2,097,151, got 1.5'],
    ['"12"', '12', 'expected an integer from 0 to 2,097,151, got "12"'],
    ['null', null, 'expected an integer from 0 to 2,097,151, got null'],
  ];
  it.each(cases)('refuses the id %s', (_, id, problem) => { refused((j) => { j.model.vocab.dog = id; }, dog, id, problem); });

  it('refuses duplicate ids, huge gaps, and added tokens that disagree with the vocabulary', () => {
    refused((j) => { j.model.vocab.dog = 5; }, dog, 5, 'id 5 is also the id of model.vocab.the');
    refused((j) => { j.model.vocab['##x y'] = 6; }, 'model.vocab["##x y"]', 6, 'id 6 is also the id of model.vocab.cat');
    refused((j) => { j.model.vocab.dog = 5000; }, dog, 5000, 'id 5000 is far past the 13 tokens of the vocabulary (ids must be below 1,050: gaps may not outnumber the tokens)');
    refused((j) => { j.added_tokens[2].id = 7; }, 'added_tokens[2].id', 7, '"[CLS]" has id 2 in model.vocab["[CLS]"]');
    refused((j) => { j.added_tokens.push({ id: 6, content: '<new>', special: true }); }, 'added_tokens[5].id', 6, 'id 6 is also the id of model.vocab.cat ("cat")');
    refused((j) => { j.added_tokens.push({ id: 1e9, content: '<new>' }); }, 'added_tokens[5].id', 1e9, 'expected an integer from 0 to 2,097,151, got 1000000000');
    refused((j) => { j.added_tokens[0].content = ''; }, 'added_tokens[0].content', '', 'expected a non-empty string, got ""');
    refused((j) => { j.added_tokens = {}; }, 'added_tokens', {}, 'expected an array, got {}');
    refused((j) => { j.model.vocab = [['the', 0]]; }, 'model.vocab', [['the', 0]], 'expected an object, got [["the",0]]');
    refused((j) => { j.model.max_input_chars_per_word = 1e6; }, 'model.max_input_chars_per_word', 1e6, 'expected an integer from 1 to 1,000, got 1000000');
    // A new token in a gap is fine: ids may leave some unused.
    const json = tinyTemplateJson() as Json;
    json.model.vocab.bird = 40;
    expect(new Tokenizer(json as TokenizerJson).vocabSize).toBe(41);
  });

  it('checks BPE merges and Unigram vocabularies', () => {
    const bpe = (j: Json) => { j.model = { type: 'BPE', vocab: j.model.vocab, merges: ['t h', 'th e'], unk_token: '[UNK]' }; };
    expect(() => { const j = tinyTemplateJson() as Json; bpe(j); new Tokenizer(j as TokenizerJson); }).not.toThrow();
    refused((j) => { bpe(j); delete j.model.merges; }, 'model.merges', undefined, 'expected an array, got missing');
    refused((j) => { bpe(j); j.model.merges[1] = ['th', 'e']; }, 'model.merges[1]', ['th', 'e'], 'expected a string "a b", as model.merges[0], got ["th","e"]');
    refused((j) => { bpe(j); j.model.merges = [['t', 'h'], ['th']]; }, 'model.merges[1]', ['th'], 'expected a pair ["a", "b"], as model.merges[0], got ["th"]');
    refused((j) => { bpe(j); j.model.dropout = 2; }, 'model.dropout', 2, 'expected a number from 0 to 1, or null, got 2');
    const unigram = (j: Json) => { j.model = { type: 'Unigram', unk_id: 1, vocab: Object.keys(j.model.vocab).map((t, i) => [t, -i]) }; };
    expect(() => { const j = tinyTemplateJson() as Json; unigram(j); new Tokenizer(j as TokenizerJson); }).not.toThrow();
    refused((j) => { unigram(j); j.model.unk_id = 13; }, 'model.unk_id', 13, 'expected an integer from 0 to 12, got 13');
    refused((j) => { unigram(j); j.model.vocab[3] = ['[SEP]']; }, 'model.vocab[3]', ['[SEP]'], 'expected a [token, score] pair of a string and a finite number, got ["[SEP]"]');
    refused((j) => { unigram(j); j.model.vocab[12][0] = 'the'; }, 'model.vocab[12]', ['the', -12], 'token "the" is also model.vocab[5]');
    refused((j) => { unigram(j); j.model.vocab = []; }, 'model.vocab', [], 'expected a non-empty array of [token, score] pairs, got []');
  });
});

describe('checkTokenizerJson: padding and truncation', () => {
  const padIds: [string, unknown, string][] = [
    ['-1', -1, 'expected an integer from 0 to 2,097,151, got -1'],
    ['1e9', 1e9, 'expected an integer from 0 to 2,097,151, got 1000000000'],
    ['1.5', 1.5, 'expected an integer from 0 to 2,097,151, got 1.5'],
    ['"x" (trained to exit 0)', 'x', 'expected an integer from 0 to 2,097,151, got "x"'],
    ['99 (no such token)', 99, 'no token has id 99'],
    ['3 (not the pad_token\'s)', 3, 'padding.pad_token "[PAD]" has id 0'],
  ];
  it.each(padIds)('refuses pad_id %s', (_, id, problem) => { refused((j) => { j.padding.pad_id = id; }, 'padding.pad_id', id, problem); });

  const settings: [string, (j: Json) => void, string, unknown, string][] = [
    ['pad_token outside the vocabulary', (j) => { j.padding.pad_token = '<pad>'; }, 'padding.pad_token', '<pad>', '"<pad>" is not in the vocabulary'],
    ['pad_type_id -1', (j) => { j.padding.pad_type_id = -1; }, 'padding.pad_type_id', -1, 'expected an integer from 0 to 255, got -1'],
    ['direction', (j) => { j.padding.direction = 'Up'; }, 'padding.direction', 'Up', `expected one of 'Left', 'Right', got "Up"`],
    ['pad_to_multiple_of 0', (j) => { j.padding.pad_to_multiple_of = 0; }, 'padding.pad_to_multiple_of', 0, 'expected an integer from 1 to 1,048,576, got 0'],
    ['strategy Fixed 1e9', (j) => { j.padding.strategy = { Fixed: 1e9 }; }, 'padding.strategy.Fixed', 1e9, 'expected an integer from 1 to 1,048,576, got 1000000000'],
    ['strategy unknown', (j) => { j.padding.strategy = 'Longest'; }, 'padding.strategy', 'Longest', `expected 'BatchLongest' or {"Fixed": length}, got "Longest"`],
    ['padding a string', (j) => { j.padding = 'max'; }, 'padding', 'max', 'expected an object, got "max"'],
    ['max_length 0', (j) => { j.truncation.max_length = 0; }, 'truncation.max_length', 0, 'expected an integer from 1 to 1,048,576, got 0'],
    ['max_length "512"', (j) => { j.truncation.max_length = '512'; }, 'truncation.max_length', '512', 'expected an integer from 1 to 1,048,576, got "512"'],
    ['stride past max_length', (j) => { j.truncation.stride = 16; }, 'truncation.stride', 16, 'expected an integer from 0 to 15, got 16'],
    ['strategy', (j) => { j.truncation.strategy = 'Longest'; }, 'truncation.strategy', 'Longest', `expected one of 'LongestFirst', 'OnlyFirst', 'OnlySecond', got "Longest"`],
  ];
  it.each(settings)('refuses %s', (_, change, jsonPath, value, problem) => { refused(change, jsonPath, value, problem); });

  it('accepts padding without pad_id (the id comes from pad_token) and a null truncation', () => {
    const json = tinyTemplateJson() as Json;
    delete json.padding.pad_id;
    json.truncation = null;
    expect(new Tokenizer(json as TokenizerJson).padId).toBe(0);
  });
});

describe('checkTokenizerJson: other parts', () => {
  it('refuses what would hang or crash the library', () => {
    refused((j) => { j.pre_tokenizer = { type: 'FixedLength', length: 0 }; }, 'pre_tokenizer.length', 0, 'expected an integer from 1 to 1,048,576, got 0');
    refused((j) => { j.pre_tokenizer.pretokenizers[0] = null; }, 'pre_tokenizer.pretokenizers[0]', null, 'expected an object, got null');
    refused((j) => { j.decoder.decoders = 'WordPiece'; }, 'decoder.decoders', 'WordPiece', 'expected an array, got "WordPiece"');
    refused((j) => { j.normalizer = { type: 'Prepend' }; }, 'normalizer.prepend', undefined, 'expected a string, got missing');
    refused((j) => { j.normalizer.normalizers[0].lowercase = 'yes'; }, 'normalizer.normalizers[0].lowercase', 'yes', 'expected true or false, got "yes"');
    refused((j) => { j.decoder = { type: 'Replace', content: '' }; }, 'decoder.pattern', undefined, 'expected an object, got missing');
    let deep: Json = { type: 'WhitespaceSplit' };
    for (let i = 0; i < 12; i++) deep = { type: 'Sequence', pretokenizers: [deep] };
    refused((j) => { j.pre_tokenizer = deep; }, 'pre_tokenizer.pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0]',
      expect.anything(), 'Sequences nested deeper than 8 levels');
    refused((j) => { j.model.type = 'WordLevel'; }, 'model.type', 'WordLevel', `expected one of 'WordPiece', 'BPE', 'Unigram', got "WordLevel"`);
    refused((j) => { j.model.unk_token = 1; }, 'model.unk_token', 1, 'expected a string, got 1');
  });

  it('refuses a file that is not an object, naming the file', () => {
    for (const [text, got] of [['null', 'null'], ['[]', '[]'], ['"x"', '"x"']]) {
      const file = path.join(tmp, `root-${got.length}-${text.length}.json`);
      writeFileSync(file, text);
      expect(() => new Tokenizer(file)).toThrow(`Tokenizer: ${file}: the file: expected an object, got ${got}`);
    }
    expect(() => new Tokenizer({ model: null } as unknown as TokenizerJson)).toThrow('Tokenizer: tokenizer.json object: model: expected an object, got null');
  });
});
