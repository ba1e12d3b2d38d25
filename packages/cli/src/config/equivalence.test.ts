// Programmatic and file use build the same objects: a stage read from a file equals, in every plain
// field, the stage written in code, and both runs give identical losses on the same seed.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, plainConfig, selectBackend, silentLogger, type StageConfig, type StepEvent,
} from '@distillery/core';
import { syntheticTask } from '@distillery/core/testing';
import { hinton } from '@distillery/loss-hinton';
import { pkd } from '@distillery/loss-pkd';
import { bertStudent, bertTeacher } from '@distillery/models';
import { loadPipelineFile } from './index.js';
import { tempDir, TINY_YAML } from './config-fixtures.test-util.js';

const tmp = tempDir();
beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => tmp.cleanup());

const bert = { vocab_size: 40, max_position_embeddings: 16, num_labels: 3, num_attention_heads: 2, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };

/** The TINY_YAML pipeline, written in code. */
function codeStages(): StageConfig[] {
  const task = { numClasses: 3, vocabSize: 40, seqLength: 8 };
  const train = arraySource(syntheticTask({ ...task, size: 48, seed: 1 }));
  const dev = arraySource(syntheticTask({ ...task, size: 24, seed: 2 }));
  return [
    { name: 'finetune', student: { use: 'bert', options: { config: { ...bert, num_hidden_layers: 2, hidden_size: 16, intermediate_size: 32 } } },
      losses: [{ use: 'supervised' }], data: { train, validation: dev }, batchSize: 16, maxSteps: 4, seed: 7,
      optimizer: { learningRate: 1e-3, warmupSteps: 1 } },
    { name: 'distil', teacher: { stage: 'finetune' },
      student: { use: 'bert', options: { config: { ...bert, num_hidden_layers: 2, hidden_size: 8, intermediate_size: 16 } } },
      losses: [{ use: 'hinton', weight: 1, options: { temperature: 2 } }, { use: 'pkd', weight: 10, options: { projection: true } }],
      data: { train, validation: dev }, batchSize: 16, maxSteps: 4, seed: 7, optimizer: { learningRate: 1e-3 } },
  ];
}

/** Runs stages, recording every step's loss terms. */
async function losses(run: (stages: StageConfig[]) => Promise<unknown>, stages: StageConfig[]): Promise<StepEvent['terms'][]> {
  const seen: StepEvent['terms'][] = [];
  for (const s of stages) s.callbacks = [{ onStep: (e) => { seen.push({ loss: e.loss, ...e.terms }); } }];
  await run(stages);
  for (const s of stages) delete s.callbacks;
  return seen;
}

describe('file and code build the same stages', () => {
  it('every plain field is equal, the data sources give the same batches, and runs give identical losses', async () => {
    const loaded = await loadPipelineFile(tmp.write('tiny.yaml', TINY_YAML), { logger: silentLogger });
    const code = codeStages();
    expect(loaded.stages.map(plainConfig)).toEqual(code.map(plainConfig));
    // Sources are described, not compared, by plainConfig: compare what they give.
    for (const [i, stage] of loaded.stages.entries()) {
      for (const key of ['train', 'validation'] as const) {
        const [a, b] = [stage.data[key]!, code[i].data[key]!];
        expect(a.size).toBe(b.size);
        const indices = Array.from({ length: a.size }, (_, k) => k);
        const [x, y] = [a.batch(indices), b.batch(indices)];
        expect(x.inputIds.arraySync()).toEqual(y.inputIds.arraySync());
        expect(x.labels!.arraySync()).toEqual(y.labels!.arraySync());
        tf.dispose([x.inputIds, x.attentionMask, x.labels!, y.inputIds, y.attentionMask, y.labels!]);
      }
    }

    const fromFile = await losses((s) => loaded.distillery.run(s), loaded.stages);
    const distillery = createDistillery({ logger: silentLogger, plugins: [bertTeacher, bertStudent, hinton, pkd] });
    const fromCode = await losses((s) => distillery.run(s), code);
    expect(fromFile).toHaveLength(8);
    expect(fromFile).toEqual(fromCode);
    expect(Object.keys(fromFile[7])).toEqual(['loss', 'hinton', 'hinton.hard', 'hinton.soft', 'pkd', 'pkd.patience']);
  });
});
