// A model plugin the CLI has never heard of gets the same up-front checks as 'bert': its describe()
// tells the CLI what it will build, and nothing in the CLI names it.
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defineStudentPlugin, optionError, type ModelDescription } from '@distillery/core';
import { MlpClassifier } from '@distillery/core/testing';
import { buildPipeline, ConfigError, parsePipelineConfig } from './index.js';
import { tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Options of the test's own model: a bag-of-embeddings MLP; vocabulary and labels default to the teacher's. */
interface TinyMlpOptions { width?: number; depth?: number; vocabSize?: number; numLabels?: number }

const described: ModelDescription[] = [];
const tinyMlp = defineStudentPlugin<TinyMlpOptions>({
  name: 'tiny-mlp',
  describe({ width = 8, depth = 1, vocabSize, numLabels }, env) {
    if (width > 32) throw optionError('tiny-mlp', ['width'], `expected at most 32, got ${width}`);
    const d: ModelDescription = {
      info: { numLayers: depth, hiddenSize: width, numHeads: 1,
        vocabSize: vocabSize ?? env.teacher?.info.vocabSize, numLabels: numLabels ?? env.teacher?.info.numLabels },
      emits: new Set(['logits']),
    };
    described.push(d);
    return d;
  },
  create: ({ width = 8, depth = 1, vocabSize, numLabels }, env) => new MlpClassifier({
    vocabSize: vocabSize ?? env.teacher!.info.vocabSize!, numLabels: numLabels ?? env.teacher!.info.numLabels!,
    embeddingSize: width, hiddenSizes: Array(depth).fill(width), seed: env.seed,
  }),
});

type Config = ReturnType<typeof parse>;
const BERT_STUDENT = () => parse(TINY_YAML).models.student;
const TINY_STUDENT = { type: 'tiny-mlp', width: 8 };

/** Builds the tiny pipeline with `student` as the distilled model, edited; the ConfigError, or undefined when it builds. */
async function errorOf(student: object, edit: (c: Config) => void = () => {}): Promise<ConfigError | undefined> {
  const config = parse(TINY_YAML);
  config.models.student = structuredClone(student);
  edit(config);
  try {
    await buildPipeline(parsePipelineConfig(config, { baseDir: tmp.dir }), { plugins: [tinyMlp] });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
}
const onlyHinton = (c: Config) => { c.stages[1].losses.pop(); };

describe('a third-party student plugin with describe()', () => {
  it('is described before anything is built: sizes from its options, vocabulary and labels from the teacher', async () => {
    described.length = 0;
    expect(await errorOf(TINY_STUDENT, onlyHinton)).toBeUndefined();
    expect(described.at(-1)!.info).toEqual({ numLayers: 1, hiddenSize: 8, numHeads: 1, vocabSize: 40, numLabels: 3 });
  });

  it("a loss needing a feature it does not emit fails at the loss, as for 'bert'", async () => {
    expect((await errorOf({ ...TINY_STUDENT, depth: 2 }))?.message).toBe("stages[1].losses[1]: loss 'pkd' needs feature 'hidden' from the student, " +
      'which does not emit it (it emits: logits)');
    // The same check on a 'bert' student that lacks a head.
    expect((await errorOf({ ...BERT_STUDENT(), heads: ['mlm'] }, onlyHinton))?.message).toBe("stages[1].losses[0]: loss 'hinton' " +
      "needs feature 'logits' from the student, which does not emit it (it emits: mlmLogits, mlmMaskedLogits, hidden, attentionScores, attentionProbs, " +
      'queries, keys, values)');
  });

  it("labels that disagree with the data or the teacher, and a vocabulary too small, fail with the same messages as 'bert'", async () => {
    const bert = (edit: (s: Record<string, any>) => void) => { const s = BERT_STUDENT(); edit(s.config); return s; };
    const cases: [object, object, (c: Config) => void][] = [
      [bert((s) => { s.num_labels = 2; }), { ...TINY_STUDENT, numLabels: 2 }, onlyHinton],
      [bert((s) => { s.num_labels = 2; }), { ...TINY_STUDENT, numLabels: 2 }, (c) => {
        onlyHinton(c);
        c.data.transfer = { ...c.data.train, labelled: false };
        c.stages[1].data = { train: 'transfer' };
      }],
      [bert((s) => { s.vocab_size = 30; }), { ...TINY_STUDENT, vocabSize: 30 }, onlyHinton],
    ];
    const messages: string[] = [];
    for (const [bertStudent, tinyStudent, edit] of cases) {
      const [a, b] = [await errorOf(bertStudent, edit), await errorOf(tinyStudent, edit)];
      expect(a).toBeDefined();
      expect(b?.message).toBe(a!.message);
      expect(b?.path).toBe(a!.path);
      messages.push(b!.message);
    }
    expect(messages).toEqual([
      "stages[1].data.train: dataset 'train' has 3 classes (0, 1, 2), but the student has num_labels 2",
      "stages[1].losses[0]: loss 'hinton' compares the logits of a teacher with num_labels 3 and a student with num_labels 2",
      "stages[1].data.train: dataset 'train' has ids up to 39 (its vocabulary), but the student's vocabulary is 30",
    ]);
  });

  it('an option error its describe() raises points at the option', async () => {
    const error = await errorOf({ ...TINY_STUDENT, width: 64 }, onlyHinton);
    expect([error?.path, error?.message]).toEqual(['models.student.width', 'models.student.width: expected at most 32, got 64']);
  });
});
