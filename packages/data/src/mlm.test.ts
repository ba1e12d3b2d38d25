import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { arraySource, disposeBatch, selectBackend, silentLogger, type BatchSource } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { countTokens, IGNORE_INDEX, MlmMasker, mlmSource } from './mlm.js';
import { textBatchSource } from './text-batch-source.js';
import type { VocabLike } from './types.js';
import { WordEncoder } from './word-encoder.test-util.js';

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

// [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4; words 5..vocabSize-1.
const vocab: VocabLike = { vocabSize: 1000, padId: 0, maskId: 4, specialIds: new Set([0, 1, 2, 3, 4]) };
const S = 48;

/** Rows [CLS] w… [SEP] [PAD]…, with an [UNK] now and then, words drawn by `draw`. */
function corpus(rows: number, seed: number, draw: (rng: Rng) => number = (rng) => 5 + rng.int(995)) {
  const rng = new Rng(seed);
  return Array.from({ length: rows }, () => {
    const length = 4 + rng.int(S - 4);
    return Array.from({ length: S }, (_, p) => (p === 0 ? 2 : p === length - 1 ? 3 : p >= length ? 0 : rng.next() < 0.02 ? 1 : draw(rng)));
  });
}

interface Tally { eligible: number; chosen: number; masked: number; random: number; kept: number; wrong: number }

function tally(source: BatchSource, batches: number, batchSize: number, check?: (ids: number[], labels: number[], original: number[]) => void): Tally {
  const t: Tally = { eligible: 0, chosen: 0, masked: 0, random: 0, kept: 0, wrong: 0 };
  const plain = (source as BatchSource & { inner: BatchSource }).inner;
  for (let b = 0; b < batches; b++) {
    const indices = Array.from({ length: batchSize }, (_, i) => (b * batchSize + i) % source.size);
    const masked = source.batch(indices);
    const original = plain.batch(indices);
    const ids = Array.from(masked.inputIds.dataSync());
    const labels = Array.from(masked.mlmLabels!.dataSync());
    const orig = Array.from(original.inputIds.dataSync());
    const mask = Array.from(original.attentionMask.dataSync());
    disposeBatch(masked);
    disposeBatch(original);
    ids.forEach((id, p) => {
      if (mask[p] && !vocab.specialIds.has(orig[p])) t.eligible++;
      // Unchosen tokens stay as they were; chosen ones carry their original id as the target.
      if (labels[p] === IGNORE_INDEX) { if (id !== orig[p]) t.wrong++; return; }
      t.chosen++;
      if (labels[p] !== orig[p]) t.wrong++;
      if (id === vocab.maskId) t.masked++; else if (id === orig[p]) t.kept++; else t.random++;
    });
    check?.(ids, labels, orig);
  }
  expect(t.wrong).toBe(0);
  return t;
}

const withInner = (inner: BatchSource, options = {}) => Object.assign(mlmSource(inner, vocab, options), { inner });

describe('MLM masking (DistilBERT)', () => {
  it('chooses 15 % of eligible tokens; 80 % [MASK], 10 % random, 10 % kept', () => {
    const inner = arraySource({ inputIds: corpus(512, 1) });
    const t = tally(withInner(inner, { seed: 9 }), 150, 32);
    expect(t.eligible).toBeGreaterThan(100_000);
    expect(Math.abs(t.chosen / t.eligible - 0.15)).toBeLessThan(0.002);
    expect(Math.abs(t.masked / t.chosen - 0.8)).toBeLessThan(0.01);
    expect(Math.abs(t.random / t.chosen - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(t.kept / t.chosen - 0.1)).toBeLessThan(0.01);
  });

  it('never chooses special or padding tokens, and never draws a special token as a random replacement', () => {
    const inner = arraySource({ inputIds: corpus(256, 2) });
    let violations = 0;
    const t = tally(withInner(inner, { seed: 1, probability: 0.5 }), 40, 32, (ids, labels, orig) => {
      ids.forEach((id, p) => {
        if (vocab.specialIds.has(orig[p]) && labels[p] !== IGNORE_INDEX) violations++;
        if (labels[p] !== IGNORE_INDEX && id !== vocab.maskId && vocab.specialIds.has(id)) violations++;
      });
    });
    expect(t.chosen).toBeGreaterThan(10_000);
    expect(violations).toBe(0);
    // With every token chosen, still none of [CLS] [SEP] [PAD] [UNK].
    const all = mlmSource(inner, vocab, { probability: 1, maskFraction: 1, randomFraction: 0 });
    const batch = all.batch([0, 1, 2]);
    const ids = batch.inputIds.arraySync();
    const rows = corpus(256, 2).slice(0, 3);
    rows.forEach((row, r) => row.forEach((id, p) => expect(ids[r][p]).toBe(vocab.specialIds.has(id) ? id : vocab.maskId)));
    disposeBatch(batch);
  });

  it('masks a real tokenizer batch: [CLS], [SEP] and padding untouched', () => {
    const texts = ['the quick brown fox jumps over the lazy dog', 'a b', 'one two three four five six seven'];
    const encoder = WordEncoder.fromTexts(texts);
    const source = mlmSource(textBatchSource(texts.map((text) => ({ text })), encoder, { maxLength: 16 }), encoder, { probability: 1, seed: 3 });
    const batch = source.batch([0, 1, 2]);
    const ids = batch.inputIds.arraySync();
    const labels = batch.mlmLabels!.arraySync();
    expect(labels[1]).toEqual([IGNORE_INDEX, encoder.id('a'), encoder.id('b'), IGNORE_INDEX, ...new Array(7).fill(IGNORE_INDEX)]);
    expect([ids[1][0], ids[1][3], ids[1][4]]).toEqual([encoder.clsId, encoder.sepId, encoder.padId]);
    expect(batch.mlmLabels!.dtype).toBe('int32');
    disposeBatch(batch);
  });

  it('is deterministic: the same seed and indices (or step) give the same masks, others differ', () => {
    const inner = arraySource({ inputIds: corpus(64, 3) });
    const read = (s: BatchSource, idx: number[]) => { const b = s.batch(idx); const out = [b.inputIds.arraySync(), b.mlmLabels!.arraySync()]; disposeBatch(b); return out; };
    const a = mlmSource(inner, vocab, { seed: 5 });
    const b = mlmSource(inner, vocab, { seed: 5 });
    expect(read(a, [3, 1, 4])).toEqual(read(b, [3, 1, 4]));
    expect(read(a, [3, 1, 4])).toEqual(read(a, [3, 1, 4]));
    expect(read(a, [3, 1, 5])[1][0]).not.toEqual(read(a, [3, 1, 4])[1][0]);
    expect(read(mlmSource(inner, vocab, { seed: 6 }), [3, 1, 4])).not.toEqual(read(a, [3, 1, 4]));
    const masker = new MlmMasker(vocab, { seed: 5 });
    const batch = inner.batch([0, 1]);
    const m1 = masker.maskBatch(batch, 7);
    const m2 = masker.maskBatch(batch, 7);
    const m3 = masker.maskBatch(batch, 8);
    expect(m1.mlmLabels!.arraySync()).toEqual(m2.mlmLabels!.arraySync());
    expect(m1.mlmLabels!.arraySync()).not.toEqual(m3.mlmLabels!.arraySync());
    tf.dispose([m1.inputIds, m1.mlmLabels!, m2.inputIds, m2.mlmLabels!, m3.inputIds, m3.mlmLabels!]);
    disposeBatch(batch);
  });

  it('smoothing shifts masking toward rare tokens (weights max(count, 1)^-0.7, 0 for specials)', () => {
    // Zipf-like corpus: id 5 + k drawn with probability ∝ 1 / (k + 1).
    const n = 995;
    const cumulative: number[] = [];
    let total = 0;
    for (let k = 0; k < n; k++) cumulative.push((total += 1 / (k + 1)));
    const zipf = (rng: Rng) => { const u = rng.next() * total; let lo = 0, hi = n - 1; while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid] < u) lo = mid + 1; else hi = mid; } return 5 + lo; };
    const rows = corpus(512, 4, zipf);
    const counts = countTokens(rows, vocab.vocabSize);
    const inner = arraySource({ inputIds: rows });
    expect(counts[5]).toBeGreaterThan(20 * counts[500]);

    const masker = new MlmMasker(vocab, { smoothing: 0.7, tokenCounts: counts });
    expect(masker.weights![2]).toBe(0);
    expect(masker.weights![5]).toBeCloseTo(counts[5] ** -0.7, 12);
    expect(masker.weights![999]).toBeCloseTo(Math.max(counts[999], 1) ** -0.7, 12);

    const rate = (options: object) => {
      const frequent = { seen: 0, chosen: 0 }, rare = { seen: 0, chosen: 0 };
      let eligible = 0, chosen = 0;
      tally(withInner(inner, options), 64, 32, (_ids, labels, orig) => {
        orig.forEach((id, p) => {
          if (vocab.specialIds.has(id)) return;
          eligible++;
          const group = id < 15 ? frequent : id >= 200 ? rare : undefined;
          if (labels[p] !== IGNORE_INDEX) chosen++;
          if (!group) return;
          group.seen++;
          if (labels[p] !== IGNORE_INDEX) group.chosen++;
        });
      });
      return { frequent: frequent.chosen / frequent.seen, rare: rare.chosen / rare.seen, overall: chosen / eligible };
    };
    const uniform = rate({ seed: 2 });
    const smoothed = rate({ seed: 2, smoothing: 0.7, tokenCounts: counts });
    expect(Math.abs(uniform.frequent - uniform.rare)).toBeLessThan(0.02);
    expect(Math.abs(smoothed.overall - 0.15)).toBeLessThan(0.003);
    expect(smoothed.rare).toBeGreaterThan(2 * smoothed.frequent);
    expect(smoothed.frequent).toBeLessThan(uniform.frequent - 0.05);
  });

  it('counts tokens from rows or a source (padding skipped), and validates options', () => {
    expect(Array.from(countTokens([[2, 5, 5, 3], [2, 6, 3]], 8))).toEqual([0, 0, 2, 2, 0, 2, 1, 0]);
    const source = arraySource({ inputIds: [[2, 5, 3, 0], [2, 5, 6, 3]] });
    expect(Array.from(countTokens(source, 8, 1))).toEqual([0, 0, 2, 2, 0, 2, 1, 0]);
    expect(() => countTokens([[9]], 8)).toThrow(/id 9 is outside the vocabulary \[0, 8\)/);
    expect(() => new MlmMasker(vocab, { smoothing: 0.7 })).toThrow(/smoothing needs tokenCounts with one count per id \(1000\), got none/);
    expect(() => new MlmMasker(vocab, { maskFraction: 0.95, randomFraction: 0.1 })).toThrow(/maskFraction \+ randomFraction must be <= 1/);
    expect(() => new MlmMasker(vocab, { probability: 1.5 })).toThrow(/probability must be in \[0, 1\]/);
    expect(() => new MlmMasker({ ...vocab, maskId: 1000 })).toThrow(/maskId 1000 is outside the vocabulary/);
  });

  it('keeps the batch labels as they are, hidden ones (-100) included, next to its own mlmLabels', () => {
    const labels = [1, -100, 0, -100];
    const source = mlmSource(arraySource({ inputIds: corpus(4, 6), labels }), vocab, { seed: 3 });
    const batch = source.batch([0, 1, 2, 3]);
    expect(batch.labels!.dtype).toBe('int32');
    expect(Array.from(batch.labels!.dataSync())).toEqual(labels);
    expect(batch.mlmLabels!.shape).toEqual([4, S]);
    disposeBatch(batch);
  });

  it('keeps the tensor count flat and disposes the unmasked ids', () => {
    const source = mlmSource(arraySource({ inputIds: corpus(32, 5), labels: new Array(32).fill(1) }), vocab);
    disposeBatch(source.batch([0]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const batch = source.batch([i, i + 1]);
      expect(batch.labels!.arraySync()).toEqual([1, 1]);
      disposeBatch(batch);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
