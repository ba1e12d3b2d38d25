// End to end: a larger teacher trained on plenty of labels teaches a small student through Hinton KD
// on an unlabelled transfer set; it must beat the same student trained on the few labels it has.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { arraySource, createDistillery, evaluate, selectBackend, silentLogger } from '@distillery/core';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { hinton } from '@distillery/loss-hinton';

const task = { numClasses: 4, vocabSize: 60, seqLength: 16, signal: 0.2 };
const labelledBig = syntheticTask({ ...task, size: 3000, seed: 11 });
const labelledSmall = syntheticTask({ ...task, size: 48, seed: 12 });
const transfer = syntheticTask({ ...task, size: 3000, seed: 13 });
const test = syntheticTask({ ...task, size: 1000, seed: 14 });
const smallStudent = () => new MlpClassifier({ vocabSize: 60, embeddingSize: 8, hiddenSizes: [8], numLabels: 4, seed: 3 });

beforeAll(async () => { await selectBackend('cpu', silentLogger); });

describe('Hinton distillation through createDistillery().use(hinton)', () => {
  it('a distilled student beats the same student trained on the small labelled set alone', async () => {
    const distillery = createDistillery({ logger: silentLogger }).use(hinton);
    const teacher = new MlpClassifier({ vocabSize: 60, embeddingSize: 32, hiddenSizes: [32], numLabels: 4, seed: 1 });
    const baseline = smallStudent();
    const distilled = smallStudent();
    const counts: number[] = [];

    const result = await distillery.run([
      {
        name: 'fine-tune-teacher', student: teacher, losses: [{ use: 'supervised' }],
        data: { train: arraySource(labelledBig) }, epochs: 4, batchSize: 32,
        optimizer: { learningRate: 0.02, warmupRatio: 0.1 },
      },
      {
        name: 'baseline', student: baseline, losses: [{ use: 'supervised' }],
        data: { train: arraySource(labelledSmall) }, epochs: 40, batchSize: 16,
        optimizer: { learningRate: 0.02 },
      },
      {
        name: 'distil', teacher: { stage: 'fine-tune-teacher' }, student: distilled,
        losses: [{ use: 'hinton', options: { temperature: 4 } }],
        // The transfer set has no labels: the hard term drops out and soft has weight 1.
        data: { train: arraySource({ inputIds: transfer.inputIds }) }, epochs: 3, batchSize: 32,
        optimizer: { learningRate: 0.02 },
        callbacks: [{ onStep: () => { counts.push(tf.memory().numTensors); } }],
      },
    ]);
    expect(result.status).toBe('completed');

    const accuracy = (m: MlpClassifier) => evaluate(m, arraySource(test)).accuracy;
    const [t, b, d] = [accuracy(teacher), accuracy(baseline), accuracy(distilled)];
    expect(t).toBeGreaterThan(0.75);
    expect(d).toBeGreaterThan(b + 0.08);
    expect(d).toBeGreaterThan(t - 0.15);
    expect(new Set(counts).size).toBe(1);
    const last = result.stages[2];
    expect(last.steps).toBe(3 * Math.ceil(3000 / 32));
  });

  it('a teacher/student logits mismatch fails naming the feature and both shapes', async () => {
    const distillery = createDistillery({ logger: silentLogger }).use(hinton);
    const teacher = new MlpClassifier({ vocabSize: 60, embeddingSize: 8, hiddenSizes: [8], numLabels: 3, seed: 1 });
    await expect(distillery.runStage({
      name: 'mismatch', teacher: teacher.asTeacher(), student: smallStudent(), losses: [{ use: 'hinton' }],
      data: { train: arraySource(labelledSmall) }, batchSize: 16,
    })).rejects.toThrow(/hinton: feature 'logits': teacher shape \[16, 3\] does not match student shape \[16, 4\]/);
  });
});
