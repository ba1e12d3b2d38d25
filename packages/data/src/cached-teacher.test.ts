import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, disposeBatch, selectBackend, silentLogger,
  type BatchSource, type DistillationLoss, type Feature, type Logger, type ModelOutputs, type Teacher,
} from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { cachedTeacher, fingerprintTensors } from './cached-teacher.js';
import { mlmSource } from './mlm.js';
import { TeacherCache } from './teacher-cache.js';
import { textBatchSource } from './text-batch-source.js';
import { WordEncoder } from './word-encoder.test-util.js';

let root: string;
let teacherModel: MlpClassifier;
let teacherPrint: string;
beforeAll(async () => {
  await selectBackend('cpu', silentLogger);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'data-cache-'));
  teacherModel = new MlpClassifier({ vocabSize: 30, embeddingSize: 12, hiddenSizes: [12], numLabels: 3, seed: 9 });
  teacherPrint = fingerprintTensors(teacherModel.trainableVariables);
});
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

const task = { numClasses: 3, vocabSize: 30, seqLength: 10 };
const data = syntheticTask({ ...task, size: 120, seed: 1 });
const source = () => arraySource({ inputIds: data.inputIds });

/** The live teacher, counting its forward passes. */
function counting(inner: Teacher): Teacher & { calls: number } {
  const t = { name: inner.name, info: inner.info, emits: inner.emits, calls: 0,
    forward(batch: Parameters<Teacher['forward']>[0], features: ReadonlySet<Feature>) { t.calls++; return inner.forward(batch, features); } };
  return t;
}

/** Mean squared difference of student and teacher logits. */
const logitMse: DistillationLoss = {
  name: 'logit-mse', teacherFeatures: new Set<Feature>(['logits']), studentFeatures: new Set<Feature>(['logits']), variables: [],
  compute: ({ teacher, student }) => ({ total: tf.tidy(() => tf.mean(tf.square(tf.sub(student.logits!, teacher.logits!)))) as tf.Scalar, terms: {} }),
};

async function train(teacher: Teacher, train: BatchSource) {
  const losses: number[] = [];
  const counts: number[] = [];
  const student = new MlpClassifier({ vocabSize: 30, embeddingSize: 6, hiddenSizes: [6], numLabels: 3, seed: 4 });
  await createDistillery({ logger: silentLogger }).runStage({
    name: 'kd', teacher, student, losses: [{ use: logitMse }], data: { train }, epochs: 2, batchSize: 16, seed: 3,
    optimizer: { learningRate: 0.02 },
    callbacks: [{ onStep: (e) => { losses.push(e.loss); counts.push(tf.memory().numTensors); } }],
  });
  student.dispose();
  return { losses, counts };
}

const logger = () => { const lines: string[] = []; const l: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) }; return { l, lines }; };

describe('cachedTeacher', () => {
  it('gives a stage the same losses as the live teacher, running the live teacher only while building', async () => {
    const live = counting(teacherModel.asTeacher());
    const reference = await train(live, source());
    expect(live.calls).toBe(16);

    live.calls = 0;
    const dir = path.join(root, 'same');
    const { l, lines } = logger();
    const cached = await cachedTeacher(live, source(), { dir, teacherFingerprint: teacherPrint, chunkSize: 50, logger: l });
    expect(cached.built).toBe(true);
    expect(cached.reason).toMatch(/^missing/);
    expect(live.calls).toBe(Math.ceil(120 / 32));
    expect(lines).toEqual([expect.stringMatching(/^info teacher cache: mlp\(12-12\): logits for 120 examples ≈ 0\.002 MiB \(16 bytes each\) → /)]);
    expect((await fs.readdir(dir)).sort()).toEqual(['chunk-00000.safetensors', 'chunk-00001.safetensors', 'chunk-00002.safetensors', 'index.json']);

    live.calls = 0;
    const viaCache = await train(cached.teacher, cached.source);
    expect(live.calls).toBe(0);
    expect(viaCache.losses).toHaveLength(reference.losses.length);
    // Bit-identical on the cpu backend: the MLP computes each row independently of its batch mates.
    expect(viaCache.losses).toEqual(reference.losses);
    expect(new Set(viaCache.counts).size).toBe(1);

    // A later run finds the cache valid and never calls the teacher.
    const again = await cachedTeacher(live, source(), { dir, teacherFingerprint: teacherPrint, chunkSize: 50, logger: l });
    expect([again.built, again.reason, live.calls]).toEqual([false, 'valid', 0]);
    expect(again.cache.size).toBe(120);
  });

  it('detects a corrupt cache (bad hash, bad size, missing chunk, broken index) and rebuilds it, never using it', async () => {
    const live = counting(teacherModel.asTeacher());
    const dir = path.join(root, 'corrupt');
    const options = { dir, teacherFingerprint: teacherPrint, chunkSize: 64, logger: silentLogger };
    await cachedTeacher(live, source(), options);
    const expected = (await TeacherCache.open(dir)).outputs([0, 77], new Set(['logits'])).logits!;
    const chunk = path.join(dir, 'chunk-00001.safetensors');

    const corruptions: [string, () => Promise<void>, RegExp][] = [
      ['flipped byte', async () => { const b = await fs.readFile(chunk); b[b.length - 3] ^= 0xff; await fs.writeFile(chunk, b); }, /corrupt: chunk chunk-00001.safetensors does not match its SHA-256/],
      ['truncated', async () => { const b = await fs.readFile(chunk); await fs.writeFile(chunk, b.subarray(0, b.length - 8)); }, /corrupt: chunk chunk-00001.safetensors has \d+ bytes, the index says \d+/],
      ['deleted chunk', () => fs.rm(chunk), /corrupt: chunk chunk-00001.safetensors is missing/],
      ['broken index', () => fs.writeFile(path.join(dir, 'index.json'), '{"format": "distillery-teacher-'), /corrupt: index.json does not parse/],
      ['deleted index', () => fs.rm(path.join(dir, 'index.json')), /missing \(no index.json\)/],
    ];
    for (const [what, corrupt, reason] of corruptions) {
      await corrupt();
      await expect(TeacherCache.open(dir), what).rejects.toThrow(reason);
      live.calls = 0;
      const { l, lines } = logger();
      const rebuilt = await cachedTeacher(live, source(), { ...options, logger: l });
      expect(rebuilt.built, what).toBe(true);
      expect(rebuilt.reason, what).toMatch(reason);
      expect(live.calls, what).toBe(4);
      if (what !== 'deleted index') expect(lines.some((m) => m.startsWith('warn') && reason.test(m)), what).toBe(true);
      const got = rebuilt.cache.outputs([0, 77], new Set(['logits'])).logits!;
      expect(got.arraySync()).toEqual(expected.arraySync());
      tf.dispose(got);
    }
    tf.dispose(expected);
  });

  it('treats another teacher, feature list or dataset as stale and rebuilds', async () => {
    const live = counting(teacherModel.asTeacher());
    const dir = path.join(root, 'stale');
    await cachedTeacher(live, source(), { dir, teacherFingerprint: 'teacher v1', logger: silentLogger });
    const other = await cachedTeacher(live, source(), { dir, teacherFingerprint: 'teacher v2', logger: silentLogger });
    expect([other.built, other.reason]).toEqual([true, 'stale: it was built for another dataset, teacher or feature list (key mismatch)']);
    const otherData = arraySource({ inputIds: syntheticTask({ ...task, size: 120, seed: 2 }).inputIds });
    const changed = await cachedTeacher(live, otherData, { dir, teacherFingerprint: 'teacher v2', logger: silentLogger });
    expect(changed.reason).toMatch(/^stale/);
    const same = await cachedTeacher(live, otherData, { dir, teacherFingerprint: 'teacher v2', logger: silentLogger });
    expect(same.built).toBe(false);
  });

  it('fails clearly on batches it cannot answer for: foreign batches, changed tokens, features not cached', async () => {
    const live = counting(teacherModel.asTeacher());
    const dir = path.join(root, 'misuse');
    const cached = await cachedTeacher(live, source(), { dir, teacherFingerprint: 'v1', datasetFingerprint: 'my-dataset', logger: silentLogger });
    const foreign = source().batch([0, 1]);
    expect(() => cached.teacher.forward(foreign, new Set(['logits']))).toThrow(/this batch did not come from the cached teacher's source/);
    disposeBatch(foreign);
    // A user-supplied dataset fingerprint that lies: the per-example token hashes catch it.
    const wrong = await cachedTeacher(live, arraySource({ inputIds: syntheticTask({ ...task, size: 120, seed: 5 }).inputIds }),
      { dir, teacherFingerprint: 'v1', datasetFingerprint: 'my-dataset', logger: silentLogger });
    expect(wrong.built).toBe(false);
    const batch = wrong.source.batch([3, 4]);
    expect(() => wrong.teacher.forward(batch, new Set(['logits']))).toThrow(/the tokens of example 3 differ from those the cache was built from/);
    expect(() => cached.cache.outputs([0], new Set(['hidden']))).toThrow(/'hidden' not cached \(it holds: logits\)/);
    disposeBatch(batch);
    await expect(cachedTeacher(live, source(), { dir, teacherFingerprint: 'v1', features: ['hidden'], logger: silentLogger }))
      .rejects.toThrow(/teacher mlp\(12-12\) does not emit 'hidden' \(it emits: logits\)/);
    await expect(cachedTeacher(live, source(), { dir, teacherFingerprint: '' })).rejects.toThrow(/'teacherFingerprint' is required/);
  });
});

describe('cachedTeacher and hidden labels', () => {
  it('hands the batch labels (-100 included) through unchanged, and a supervised + distillation stage trains on them', async () => {
    const live = counting(teacherModel.asTeacher());
    const labels = data.labels.map((l, i) => (i % 3 ? -100 : l));
    const cached = await cachedTeacher(live, arraySource({ inputIds: data.inputIds, labels }),
      { dir: path.join(root, 'hidden-labels'), teacherFingerprint: teacherPrint, logger: silentLogger });
    const batch = cached.source.batch([0, 1, 2, 3]);
    expect(Array.from(batch.labels!.dataSync())).toEqual([labels[0], -100, -100, labels[3]]);
    const out = cached.teacher.forward(batch, new Set(['logits']));
    expect(out.logits!.shape).toEqual([4, 3]);
    tf.dispose(out.logits!);
    disposeBatch(batch);
    live.calls = 0;
    const losses: number[] = [];
    const student = new MlpClassifier({ vocabSize: 30, embeddingSize: 6, hiddenSizes: [6], numLabels: 3, seed: 4 });
    await createDistillery({ logger: silentLogger }).runStage({
      name: 'kd', teacher: cached.teacher, student, losses: [{ use: 'supervised' }, { use: logitMse }], data: { train: cached.source },
      epochs: 1, batchSize: 16, seed: 3, callbacks: [{ onStep: (e) => { losses.push(e.loss); } }],
    });
    student.dispose();
    expect(live.calls).toBe(0);
    expect(losses.length).toBe(8);
    expect(losses.every(Number.isFinite)).toBe(true);
  });
});

describe('cachedTeacher and MLM masking', () => {
  it('refuses masked inputs, saying plainly that MLM stages cannot use the cache', async () => {
    const live = counting(teacherModel.asTeacher());
    const vocab = { vocabSize: 30, padId: 0, maskId: 4, specialIds: new Set([0, 1, 2, 3, 4]) };
    // Masking draws new positions on every read, so the batch the stage reads is not the one the cache holds.
    const masked = mlmSource(source(), vocab, { probability: 0.5, seed: 11 });
    const cached = await cachedTeacher(live, masked, { dir: path.join(root, 'mlm'), teacherFingerprint: 'v1', logger: silentLogger });
    const batch = cached.source.batch([3, 4]);
    let error: Error | undefined;
    try {
      cached.teacher.forward(batch, new Set(['logits']));
    } catch (e) {
      error = e as Error;
    } finally {
      disposeBatch(batch);
    }
    expect(error?.message).toMatch(/the tokens of example 3 differ from those the cache was built from/);
    expect(error?.message).toContain('MLM stages cannot use the teacher cache');
    expect(error?.message).toContain('the teacher must see the masked inputs');
    expect(error?.message).not.toMatch(/cache the unmasked source/);
  });
});

describe('cached intermediate features', () => {
  /** A stand-in encoder: hidden[l] = (id + l) · 0.5 on every unit, attention probs from the mask; logits from the first token. */
  const fake: Teacher = {
    name: 'fake(2x4)', info: { numLayers: 2, hiddenSize: 4, numHeads: 2 }, emits: new Set<Feature>(['logits', 'hidden', 'attentionProbs']),
    forward(batch, features): ModelOutputs {
      return tf.tidy(() => {
        const ids = tf.cast(batch.inputIds, 'float32');
        const out: ModelOutputs = {};
        if (features.has('hidden')) out.hidden = [0, 1, 2].map((l) => tf.tile(tf.expandDims(tf.mul(tf.add(ids, l), 0.5), 2), [1, 1, 4]));
        if (features.has('attentionProbs')) {
          const [b, s] = batch.inputIds.shape;
          const m = tf.cast(batch.attentionMask, 'float32');
          const probs = tf.div(m, tf.sum(m, 1, true));
          out.attentionProbs = [0, 1].map(() => tf.tile(tf.reshape(probs, [b, 1, 1, s]), [1, 2, s, 1]));
        }
        if (features.has('logits')) out.logits = tf.slice(ids, [0, 0], [-1, 2]);
        return out as tf.TensorContainer;
      }) as ModelOutputs;
    },
  };
  const texts = ['the cat sat on the mat', 'a dog', 'birds fly south in winter', 'x y z', 'one more line here'];
  const encoder = WordEncoder.fromTexts(texts);

  it('stores hidden states and attention, reports the size first, and gives back exactly what the teacher gave', async () => {
    const fixed = textBatchSource(texts.map((text) => ({ text })), encoder, { maxLength: 10, padding: 'max_length' });
    const { l, lines } = logger();
    const features: Feature[] = ['logits', 'hidden', 'attentionProbs'];
    const cached = await cachedTeacher(fake, fixed, { dir: path.join(root, 'hidden'), teacherFingerprint: 'fake', features, batchSize: 2, chunkSize: 3, logger: l });
    // Per example: logits 2 + hidden 3·10·4 + attention 2·2·10·10 floats + a 4-byte token hash.
    expect(lines[0]).toMatch(/logits, hidden, attentionProbs for 5 examples ≈ 0\.010 MiB \(2092 bytes each\)/);
    const batch = cached.source.batch([4, 1, 2]);
    const want = fake.forward(batch, new Set(features));
    const got = cached.teacher.forward(batch, new Set<Feature>(['hidden', 'attentionProbs']));
    expect(got.logits).toBeUndefined();
    expect(got.hidden!.map((t) => t.arraySync())).toEqual(want.hidden!.map((t) => t.arraySync()));
    expect(got.attentionProbs!.map((t) => t.arraySync())).toEqual(want.attentionProbs!.map((t) => t.arraySync()));
    tf.dispose([got as tf.TensorContainer, want as tf.TensorContainer]);
    disposeBatch(batch);
  });

  it('refuses sequence features over batches of varying length, and a cache over maxBytes, before writing', async () => {
    const longest = textBatchSource(texts.map((text) => ({ text })), encoder, { maxLength: 10 });
    const dir = path.join(root, 'varying');
    await expect(cachedTeacher(fake, longest, { dir, teacherFingerprint: 'fake', features: ['hidden'], batchSize: 2, logger: silentLogger }))
      .rejects.toThrow(/batches have lengths 8 and 7; caching hidden needs one fixed length \(textBatchSource padding 'max_length'\)/);
    await expect(fs.access(dir)).rejects.toThrow();
    // Logits alone do not depend on the padded length.
    const logits = await cachedTeacher(fake, longest, { dir, teacherFingerprint: 'fake', batchSize: 2, logger: silentLogger });
    expect(logits.built).toBe(true);
    const fixed = textBatchSource(texts.map((text) => ({ text })), encoder, { maxLength: 10, padding: 'max_length' });
    const big = path.join(root, 'big');
    await expect(cachedTeacher(fake, fixed, { dir: big, teacherFingerprint: 'fake', features: ['hidden'], maxBytes: 1000, logger: silentLogger }))
      .rejects.toThrow(/estimated size 0\.002 MiB exceeds maxBytes 0\.001 MiB; cache fewer features/);
    await expect(fs.access(big)).rejects.toThrow();
  });
});
