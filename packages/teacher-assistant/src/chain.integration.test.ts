// End to end on the models package's BertModel: a teacher fine-tuned in stage 1, then the chain
// teacher (4x32) → assistant (4x16, auto) → student (2x16) through the 'teacher-assistant' stage plugin.
// The hand-over check: the teacher outputs the student stage's loss saw are the trained assistant's.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arraySource, createDistillery, selectBackend, silentLogger, type Batch, type DistillationLoss, type Logger, type StepEvent,
} from '@distillery/core';
import { syntheticTask } from '@distillery/core/testing';
import { hintonLoss } from '@distillery/loss-hinton';
import { BertModel, bertStudent, type BertConfigInput } from '@distillery/models';
import { teacherAssistantPlugin } from './index.js';

// Dropout off so that an outputs comparison is exact.
const base: BertConfigInput = {
  vocab_size: 40, max_position_embeddings: 16, num_labels: 3, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
};
const task = syntheticTask({ numClasses: 3, vocabSize: 40, seqLength: 8, size: 64 });
const models: BertModel[] = [];
const keep = <M extends BertModel>(m: M) => { models.push(m); return m; };

/** Wraps a Hinton loss and keeps the first batch and teacher logits it is given. */
function recordingHinton() {
  const inner = hintonLoss({ temperature: 2 });
  const seen: { inputIds?: number[][]; attentionMask?: number[][]; teacherLogits?: number[][] } = {};
  const loss: DistillationLoss = {
    ...inner,
    compute(ctx) {
      if (!seen.teacherLogits) {
        seen.inputIds = ctx.batch.inputIds.arraySync();
        seen.attentionMask = ctx.batch.attentionMask.arraySync();
        seen.teacherLogits = ctx.teacher.logits!.arraySync() as number[][];
      }
      return inner.compute(ctx);
    },
  };
  return { loss, seen };
}

function logitsOn(model: BertModel, seen: ReturnType<typeof recordingHinton>['seen']): number[][] {
  return tf.tidy(() => {
    const batch: Batch = { inputIds: tf.tensor2d(seen.inputIds!, undefined, 'int32'), attentionMask: tf.tensor2d(seen.attentionMask!, undefined, 'int32') };
    return model.asTeacher().forward(batch, new Set(['logits'])).logits!.arraySync() as number[][];
  });
}
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - b[i][j]))));

beforeAll(async () => { await selectBackend('cpu', silentLogger); });
afterAll(() => models.forEach((m) => m.dispose()));

describe('teacher → assistant → student on BertModel and synthetic data', () => {
  it('runs every stage, and each stage learns from the previous stage\'s trained model', async () => {
    const teacher = keep(new BertModel({ ...base, num_hidden_layers: 4, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64 }, { seed: 1 }));
    const student = keep(new BertModel({ ...base, num_hidden_layers: 2, hidden_size: 16, num_attention_heads: 2, intermediate_size: 32 }, { seed: 2 }));
    const assistantStep = recordingHinton();
    const studentStep = recordingHinton();
    const lines: string[] = [];
    const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
    const steps: StepEvent[] = [];
    const train = arraySource(task);

    const result = await createDistillery({ logger: silentLogger, plugins: [bertStudent, teacherAssistantPlugin] }).run([
      { name: 'finetune', student: teacher, losses: [{ use: 'supervised' }], data: { train }, batchSize: 16, maxSteps: 12,
        optimizer: { learningRate: 2e-3 } },
      { use: 'teacher-assistant', options: {
        name: 'takd', teacher: { stage: 'finetune' }, teacherAs: { use: 'bert', options: { config: teacher.config } }, student, logger,
        plugins: [bertStudent],
        losses: [{ use: assistantStep.loss }], studentStage: { losses: [{ use: studentStep.loss }] },
        data: { train }, batchSize: 16, maxSteps: 8, optimizer: { learningRate: 2e-3 },
        callbacks: [{ onStep: (e: StepEvent) => { steps.push(e); } }],
      } },
    ]);

    expect(result.status).toBe('completed');
    expect(result.stages.map((s) => [s.stage, s.status, s.steps]))
      .toEqual([['finetune', 'completed', 12], ['takd-assistant-1', 'completed', 8], ['takd-student', 'completed', 8]]);
    expect(lines.some((l) => l.includes("teacher-assistant 'takd': one assistant 4x16"))).toBe(true);
    expect(steps.filter((e) => e.stage === 'takd-student').every((e) => Number.isFinite(e.terms['hinton.soft']))).toBe(true);

    const assistant = BertModel.unwrap(result.students.get('takd-assistant-1'))!;
    expect(assistant.name).toBe('bert(4x16)');
    expect(result.students.get('takd-student')).toBe(student);

    // Stage 2 saw the fine-tuned teacher (the same object, trained in stage 1 and frozen since).
    expect(maxDiff(assistantStep.seen.teacherLogits!, logitsOn(teacher, assistantStep.seen))).toBeLessThan(1e-5);
    // Stage 3 saw the trained assistant ...
    expect(maxDiff(studentStep.seen.teacherLogits!, logitsOn(assistant, studentStep.seen))).toBeLessThan(1e-5);
    // ... not a fresh one: the 'bert' plugin built it from the teacher config with the stage seed (42).
    const fresh = keep(new BertModel({ ...teacher.config, num_hidden_layers: 4, hidden_size: 16, num_attention_heads: 2,
      intermediate_size: 32 }, { seed: 42 }));
    expect(maxDiff(studentStep.seen.teacherLogits!, logitsOn(fresh, studentStep.seen))).toBeGreaterThan(1e-3);
    // And the fresh copy is where the assistant started: stage 2 moved it.
    expect(maxDiff(logitsOn(assistant, assistantStep.seen), logitsOn(fresh, assistantStep.seen))).toBeGreaterThan(1e-3);
    assistant.dispose();
  });
});
