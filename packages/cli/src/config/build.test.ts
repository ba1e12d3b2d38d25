// Errors found while building: plugin names and options, model configs, data against models, chains.
// Each names its key path; nothing is trained.
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildPipeline, ConfigError, parsePipelineConfig } from './index.js';
import { tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

type Config = ReturnType<typeof base>;
const base = () => parse(TINY_YAML);

/** The ConfigError that building the edited tiny pipeline raises. */
async function errorOf(edit: (c: Config) => void): Promise<ConfigError> {
  const config = base();
  edit(config);
  try {
    await buildPipeline(parsePipelineConfig(config, { baseDir: tmp.dir }));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('plugin options are checked by building each plugin once', () => {
  it("a loss option out of range: 'stages[1].losses[0].options.temperature: expected a number > 0, got -1'", async () => {
    const error = await errorOf((c) => { c.stages[1].losses[0].options.temperature = -1; });
    expect(error.message).toBe('stages[1].losses[0].options.temperature: expected a number > 0, got -1');
    expect(error.path).toBe('stages[1].losses[0].options.temperature');
    expect(error.value).toBe(-1);
    expect(error.code).toBe('config');
  });

  it('a loss option of the wrong kind, a bad choice, an unknown option', async () => {
    expect((await errorOf((c) => { c.stages[1].losses[0].options.hardWeight = 'half'; })).message)
      .toBe('stages[1].losses[0].options.hardWeight: expected a number, got "half"');
    expect((await errorOf((c) => { c.stages[1].losses[0].options.softLoss = 'kld'; })).message)
      .toBe('stages[1].losses[0].options.softLoss: expected one of "kl", "ce", "mse", got "kld"');
    expect((await errorOf((c) => { c.stages[1].losses[0].options = { temprature: 2 }; })).message)
      .toBe("stages[1].losses[0].options.temprature: unknown option for loss plugin 'hinton' (did you mean 'temperature'?); " +
        'allowed: temperature, hardWeight, softLoss, reduction');
    expect((await errorOf((c) => { c.stages[1].losses[1].options.projection = 'yes'; })).message)
      .toBe('stages[1].losses[1].options.projection: expected true or false, got "yes"');
  });

  it('an unknown loss, mapping, callback or stage plugin lists the known names', async () => {
    const loss = await errorOf((c) => { c.stages[1].losses[1].use = 'pkdd'; });
    expect(loss.message).toMatch(/^stages\[1\]\.losses\[1\]\.use: unknown loss plugin 'pkdd'; known loss plugins: 'supervised', 'hinton', 'pkd', 'tinybert', 'minilm', 'distilbert-cosine' \(plugins come from /);
    expect(loss.value).toBe('pkdd');
    expect((await errorOf((c) => { c.stages[1].mapping = 'skipp'; })).message)
      .toMatch(/^stages\[1\]\.mapping: unknown mapping plugin 'skipp'; known mapping plugins: 'uniform', 'skip', 'last', 'lastLayer', 'explicit'/);
    expect((await errorOf((c) => { c.stages[1].mapping = { use: 'lastLayer', options: { layer: 1 } }; })).message)
      .toBe("stages[1].mapping.options.layer: unknown option for mapping plugin 'lastLayer'; allowed: teacherLayer");
    expect((await errorOf((c) => { c.stages[0].callbacks = [{ use: 'log', options: { evry: 5 } }]; })).message)
      .toBe("stages[0].callbacks[0].options.evry: unknown option for callback plugin 'log' (did you mean 'every'?); allowed: every");
    expect((await errorOf((c) => { c.stages[1] = { use: 'two-stages', options: {} }; })).message)
      .toMatch(/^stages\[1\]\.use: unknown stage plugin 'two-stages'; known stage plugins: 'teacher-assistant'/);
  });

  it('a loss that cannot work with these models says why, at the loss', async () => {
    const error = await errorOf((c) => { delete c.stages[1].losses[1].options; });
    expect(error.path).toBe('stages[1].losses[1]');
    expect(error.message).toMatch(/^stages\[1\]\.losses\[1\]: pkd: .*hidden/);
    const heads = await errorOf((c) => { c.models.student.heads = ['mlm']; c.stages[1].losses.pop(); });
    expect(heads.message).toBe("stages[1].losses[0]: loss 'hinton' needs feature 'logits' from the student, which does not emit it " +
      '(it emits: mlmLogits, mlmMaskedLogits, hidden, attentionScores, attentionProbs, queries, keys, values)');
  });
});

describe('models are checked through their plugin, before anything is built', () => {
  it('BERT config keys and values point into the model definition', async () => {
    expect((await errorOf((c) => { c.models.student.config.hiden_size = 8; })).message)
      .toMatch(/^models\.student\.config\.hiden_size: unknown key \(did you mean 'hidden_size'\?\); allowed: vocab_size, hidden_size, /);
    expect((await errorOf((c) => { c.models.student.config.num_hidden_layers = 0; })).message)
      .toBe('models.student.config.num_hidden_layers: expected an integer >= 1, got 0');
    expect((await errorOf((c) => { c.models.student.config.hidden_dropout_prob = 1.5; })).message)
      .toBe('models.student.config.hidden_dropout_prob: expected a number < 1, got 1.5');
    expect((await errorOf((c) => { c.models.student.config.hidden_size = 9; })).message)
      .toBe("models.student.config: bert: 'hidden_size' 9 is not a multiple of 'num_attention_heads' 2");
  });

  it('model options, the plugin name, and a checkpoint folder', async () => {
    expect((await errorOf((c) => { c.models.student.hiddenSize = 8; })).message)
      .toBe("models.student.hiddenSize: unknown option for student plugin 'bert'; allowed: type, config, checkpoint, heads, " +
        'initHeads, seed, initFromTeacher');
    expect((await errorOf((c) => { c.models.student.type = 'bret'; })).message)
      .toMatch(/^models\.student\.type: unknown student plugin 'bret' \(used as the student at stages\[1\]\.student\); known student plugins: 'bilstm', 'bert'/);
    const inline = await errorOf((c) => { c.stages[1].student = { type: 'bert', config: { ...c.models.student.config, num_labels: 0 } }; });
    expect(inline.message).toBe('stages[1].student.config.num_labels: expected an integer >= 1, got 0');
    const folder = await errorOf((c) => { c.models.teacher = { type: 'bert', checkpoint: './no-such-model' }; });
    expect(folder.message).toBe(`models.teacher.checkpoint: no config.json in ${tmp.dir}/no-such-model (expected a Hugging Face model folder)`);
  });

  it('initFromTeacher layers are checked against the teacher', async () => {
    const error = await errorOf((c) => {
      c.models.student = { type: 'bert', initFromTeacher: { layers: [0, 5] } };
      c.stages[1].losses.pop();
    });
    expect(error.message).toBe('models.student.initFromTeacher.layers[1]: expected a teacher layer index in 0..1 (the teacher has 2 layers), got 5');
  });

  it('{ stage } must name an earlier stage', async () => {
    const error = await errorOf((c) => { c.stages[0].teacher = { stage: 'distil' }; });
    expect(error.message).toBe("stages[0].teacher: { stage: 'distil' } names no earlier stage; earlier stages: (none)");
  });
});

describe('data must fit the models', () => {
  it('labels, vocabulary and sequence length', async () => {
    expect((await errorOf((c) => { c.models.student.config.num_labels = 2; })).message)
      .toBe("stages[1].data.train: dataset 'train' has 3 classes (0, 1, 2), but the student has num_labels 2");
    expect((await errorOf((c) => { c.models.teacher.config.vocab_size = 30; })).message)
      .toBe("stages[0].data.train: dataset 'train' has ids up to 39 (its vocabulary), but the student's vocabulary is 30");
    expect((await errorOf((c) => { c.models.teacher.config.max_position_embeddings = 6; })).message)
      .toBe("stages[0].data.train: dataset 'train' has sequences up to 8 tokens (maxLength), but the student takes at most 6 tokens");
  });

  it("a teacher's and a student's logits must have the same classes", async () => {
    const error = await errorOf((c) => {
      c.data.transfer = { ...c.data.train, labelled: false };
      c.stages[1].data = { train: 'transfer' };
      c.models.student.config.num_labels = 2;
    });
    expect(error.message).toBe("stages[1].losses[0]: loss 'hinton' compares the logits of a teacher with num_labels 3 and a student with num_labels 2");
  });

  it('evaluation needs labels; masking needs text', async () => {
    expect((await errorOf((c) => { c.data.dev.labelled = false; })).message)
      .toBe("stages[0].data.validation: dataset 'dev' has no labels; evaluation needs labelled data");
    expect((await errorOf((c) => { c.data.train.labelled = false; delete c.stages[0].data.validation; })).message)
      .toBe("stages[0].data.train: dataset 'train' has no labels, which the 'supervised' loss needs");
    expect((await errorOf((c) => { c.stages[1].mlm = { probability: 0.15 }; })).message)
      .toBe("stages[1].mlm: masking needs a tokenized text dataset, but 'train' is synthetic");
  });

  it('files and tokenizers must exist', async () => {
    const file = await errorOf((c) => { c.data.reviews = { type: 'csv', path: 'reviews.csv', tokenizer: 'bert-base-uncased' }; });
    expect(file.message).toBe(`data.reviews.path: no such file ${tmp.dir}/reviews.csv`);
    const tokenizer = await errorOf((c) => { c.data.reviews = { type: 'moby-dick', tokenizer: './tok.json' }; });
    expect(tokenizer.message).toBe(`data.reviews.tokenizer: no such file or folder ${tmp.dir}/tok.json (expected 'bert-base-uncased', ` +
      'a tokenizer.json, or a folder holding one)');
  });
});

describe('teacher-assistant entries', () => {
  const chain = (c: Config, options: object) => {
    c.stages[1] = { use: 'teacher-assistant', options: { teacher: { stage: 'finetune' }, student: 'student',
      losses: [{ use: 'hinton' }], data: { train: 'train' }, ...options } };
  };

  it('a bad assistant shape points at the assistant', async () => {
    const error = await errorOf((c) => chain(c, { assistant: [{ numLayers: 2, hiddenSize: 9 }] }));
    expect(error.message).toBe("stages[1].options.assistant[0]: teacher-assistant: assistant[0]: hiddenSize 9 is divisible by neither " +
      "the teacher's heads (2) nor the student's (2); give numHeads");
  });

  it("the chain's stages are checked like written ones, with paths into the entry", async () => {
    const error = await errorOf((c) => chain(c, { studentStage: { losses: [{ use: 'hinton', options: { temperature: 0 } }] } }));
    expect(error.message).toBe('stages[1].options.studentStage.losses[0].options.temperature: expected a number > 0, got 0');
    const shared = await errorOf((c) => chain(c, { losses: [{ use: 'hinton', options: { temperature: -2 } }] }));
    expect(shared.message).toBe('stages[1].options.losses[0].options.temperature: expected a number > 0, got -2');
    const name = await errorOf((c) => {
      c.stages[0].name = 'x-student';
      chain(c, { name: 'x', assistant: 'none', teacher: { stage: 'x-student' } });
    });
    expect(name.message).toBe("stages[1].options.name: a stage named 'x-student' already exists (stage 'x-student' of the teacher-assistant chain)");
  });
});

describe('teacherCache', () => {
  const built = async (edit: (c: Config) => void) => {
    const config = base();
    edit(config);
    return (await buildPipeline(parsePipelineConfig(config, { baseDir: tmp.dir }))).stages.map((s) => [s.name, s.teacherCache]);
  };

  it("the file's value is every stage's default, also in a chain; a stage's own value wins", async () => {
    expect(await built(() => undefined)).toEqual([['finetune', undefined], ['distil', undefined]]);
    expect(await built((c) => { c.teacherCache = false; c.stages[1].teacherCache = true; })).toEqual([['finetune', false], ['distil', true]]);
    expect(await built((c) => {
      c.teacherCache = false;
      c.stages[1] = { use: 'teacher-assistant', options: { teacher: { stage: 'finetune' }, student: 'student', assistant: [{ numLayers: 2, hiddenSize: 12 }],
        losses: [{ use: 'hinton' }], data: { train: 'train' }, studentStage: { teacherCache: true } } };
    })).toEqual([['finetune', false], ['ta-assistant-1', false], ['ta-student', true]]);
  });

  it('must be true or false', async () => {
    expect((await errorOf((c) => { c.stages[1].teacherCache = 'no'; })).message).toBe('stages[1].teacherCache: expected true or false, got "no"');
    expect((await errorOf((c) => { c.teacherCache = 0; })).message).toBe('teacherCache: expected true or false, got 0');
  });
});
