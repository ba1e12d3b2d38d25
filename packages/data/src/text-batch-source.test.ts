import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDistillery, disposeBatch, evaluate, selectBackend, silentLogger } from '@distillery/core';
import { MlpClassifier } from '@distillery/core/testing';
import { textBatchSource } from './text-batch-source.js';
import type { TextExample } from './types.js';
import { WordEncoder } from './word-encoder.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

const examples: TextExample[] = [
  { text: 'the cat sat', label: 0 },
  { text: 'a dog', label: 1 },
  { text: 'the cat sat on the mat today', label: 0 },
];

describe('textBatchSource', () => {
  it('pads to the longest row of each batch with masks, token types and int32 labels', () => {
    const encoder = WordEncoder.fromTexts(examples.map((e) => e.text));
    const source = textBatchSource(examples, encoder, { maxLength: 6 });
    expect(source.size).toBe(3);
    const batch = source.batch([1, 0]);
    const the = encoder.id('the'), cat = encoder.id('cat'), sat = encoder.id('sat'), a = encoder.id('a'), dog = encoder.id('dog');
    expect(batch.inputIds.arraySync()).toEqual([[2, a, dog, 3, 0], [2, the, cat, sat, 3]]);
    expect(batch.attentionMask.arraySync()).toEqual([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]);
    expect(batch.tokenTypeIds!.arraySync()).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
    expect([batch.inputIds.dtype, batch.attentionMask.dtype, batch.labels!.dtype]).toEqual(['int32', 'int32', 'int32']);
    expect(batch.labels!.arraySync()).toEqual([1, 0]);
    // Truncated to maxLength, special tokens included.
    const long = source.batch([2]);
    expect(long.inputIds.arraySync()).toEqual([[2, the, cat, sat, encoder.id('on'), 3]]);
    disposeBatch(batch);
    disposeBatch(long);
  });

  it("pads every batch to maxLength with padding 'max_length', and gives pairs their segment ids", () => {
    const pairs: TextExample[] = [{ text: 'a man sleeps', textPair: 'nobody sleeps', label: 0.25 }, { text: 'x', label: 1.5 }];
    const encoder = WordEncoder.fromTexts(['a man sleeps nobody x']);
    const source = textBatchSource(pairs, encoder, { maxLength: 8, padding: 'max_length', regression: true });
    const batch = source.batch([0, 1]);
    expect(batch.inputIds.shape).toEqual([2, 8]);
    expect(batch.tokenTypeIds!.arraySync()).toEqual([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(batch.attentionMask.arraySync()).toEqual([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0, 0]]);
    expect(batch.labels!.dtype).toBe('float32');
    expect(Array.from(batch.labels!.dataSync())).toEqual([0.25, 1.5]);
    disposeBatch(batch);
  });

  it('encodes each example once (cached ids) unless caching is off, and reports lengths', () => {
    const encoder = WordEncoder.fromTexts(examples.map((e) => e.text));
    const source = textBatchSource(examples, encoder, { maxLength: 16 });
    for (let i = 0; i < 5; i++) disposeBatch(source.batch([0, 1, 2]));
    expect(encoder.encodedRows).toBe(3);
    expect(source.lengths()).toEqual([5, 4, 9]);
    expect(encoder.encodedRows).toBe(3);
    const uncached = textBatchSource(examples, encoder, { maxLength: 16, cache: false });
    disposeBatch(uncached.batch([0]));
    disposeBatch(uncached.batch([0]));
    expect(encoder.encodedRows).toBe(5);
  });

  it('leaves labels out for unlabelled examples, and fails on a batch that mixes both', () => {
    const encoder = WordEncoder.fromTexts(['a b']);
    const source = textBatchSource([{ text: 'a' }, { text: 'b' }, { text: 'a b', label: 1 }], encoder);
    const batch = source.batch([0, 1]);
    expect(batch.labels).toBeUndefined();
    disposeBatch(batch);
    const before = tf.memory().numTensors;
    expect(() => source.batch([0, 2])).toThrow(/example 0 has no label but others in its batch do/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => source.batch([3])).toThrow(/index 3 is out of range \[0, 3\)/);
    expect(() => textBatchSource([], encoder, { maxLength: 0 })).toThrow(/maxLength must be a positive integer/);
  });

  it('passes hidden labels (-100) on in int32 and float32 (regression) label tensors', () => {
    const encoder = WordEncoder.fromTexts(['a b']);
    const classes = textBatchSource([{ text: 'a', label: 1 }, { text: 'b', label: -100 }], encoder);
    const batch = classes.batch([0, 1]);
    expect(batch.labels!.dtype).toBe('int32');
    expect(Array.from(batch.labels!.dataSync())).toEqual([1, -100]);
    const targets = textBatchSource([{ text: 'a', label: -100 }, { text: 'b', label: 0.5 }], encoder, { regression: true });
    const floats = targets.batch([0, 1]);
    expect(floats.labels!.dtype).toBe('float32');
    expect(Array.from(floats.labels!.dataSync())).toEqual([-100, 0.5]);
    disposeBatch(batch);
    disposeBatch(floats);
  });

  it('trains a student in a stage and keeps the tensor count flat', async () => {
    const words = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'movie', 'plot', 'the', 'was'];
    const encoder = new WordEncoder(words);
    const make = (n: number, offset: number) => Array.from({ length: n }, (_, i): TextExample => {
      const label = (i + offset) % 2;
      const sentiment = label ? ['good', 'great', 'fine'] : ['bad', 'awful', 'poor'];
      return { text: `the ${['movie', 'plot'][Math.floor(i / 2) % 2]} was ${sentiment[i % 3]} ${i % 5 === 0 ? sentiment[(i + 1) % 3] : ''}`, label };
    });
    const train = textBatchSource(make(96, 0), encoder, { maxLength: 12 });
    const validation = textBatchSource(make(32, 1), encoder, { maxLength: 12 });
    const student = new MlpClassifier({ vocabSize: encoder.vocabSize, embeddingSize: 8, hiddenSizes: [8], numLabels: 2, seed: 3 });
    const counts: number[] = [];
    const result = await createDistillery({ logger: silentLogger }).runStage({
      name: 'fit', student, losses: [{ use: 'supervised' }], data: { train, validation }, epochs: 6, batchSize: 16,
      optimizer: { learningRate: 0.05, schedule: 'constant' }, callbacks: [{ onStep: () => { counts.push(tf.memory().numTensors); } }],
    });
    expect(result.status).toBe('completed');
    expect(new Set(counts).size).toBe(1);
    expect(evaluate(student, validation).accuracy).toBeGreaterThan(0.9);
    student.dispose();
  });
});
