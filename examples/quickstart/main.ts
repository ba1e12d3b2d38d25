// Fine-tune a teacher on labels, then distil a 4x smaller student on an unlabelled transfer set.
import { arraySource, createDistillery, evaluate, selectBackend } from '@distillery/core';
import { nativeKernels } from '@distillery/backend-native';
import { MlpClassifier, syntheticTask } from '@distillery/core/testing';
import { hinton } from '@distillery/loss-hinton';

// tfjs-node if installed, else WebAssembly (with the native kernels when their addon is built), else CPU.
await selectBackend('auto', { extensions: [nativeKernels()] });
const task = { numClasses: 4, vocabSize: 60, seqLength: 16, signal: 0.2 };
const labelled = syntheticTask({ ...task, size: 3000, seed: 11 });
const transfer = syntheticTask({ ...task, size: 3000, seed: 13 });
const test = arraySource(syntheticTask({ ...task, size: 1000, seed: 14 }));

const teacher = new MlpClassifier({ vocabSize: 60, embeddingSize: 32, hiddenSizes: [32], numLabels: 4 });
const student = new MlpClassifier({ vocabSize: 60, embeddingSize: 8, hiddenSizes: [8], numLabels: 4 });
const distillery = createDistillery().use(hinton);
await distillery.run([
  { name: 'teacher', student: teacher, losses: [{ use: 'supervised' }], data: { train: arraySource(labelled) },
    epochs: 4, optimizer: { learningRate: 0.02 }, callbacks: [{ use: 'log', options: { every: 100 } }] },
  { name: 'distil', teacher: { stage: 'teacher' }, student, losses: [{ use: 'hinton', options: { temperature: 4 } }],
    data: { train: arraySource({ inputIds: transfer.inputIds }) }, epochs: 3, optimizer: { learningRate: 0.02 },
    callbacks: [{ use: 'log', options: { every: 100 } }] },
]);
console.log(`teacher accuracy ${evaluate(teacher, test).accuracy.toFixed(3)}, student ${evaluate(student, test).accuracy.toFixed(3)}`);
