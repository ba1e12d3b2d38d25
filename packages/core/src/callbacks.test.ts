import { describe, expect, it } from 'vitest';
import { logCallback, stageModelsText } from '@distillery/core';

const collect = () => {
  const lines: string[] = [];
  return { lines, logger: { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(`warn ${m}`) } };
};

describe('logCallback', () => {
  it('names a stage without teacher as training its model, not as a student', async () => {
    const { lines, logger } = collect();
    const cb = logCallback(logger);
    const models = { student: undefined as never };
    await cb.onStageStart!({ stage: 'teacher', totalSteps: 12, startStep: 0, epochs: 2, student: 'bert(4x256)' }, models);
    await cb.onStageStart!({ stage: 'kd', totalSteps: 12, startStep: 5, epochs: 2, student: 'bilstm(8x4)', teacher: 'bert(4x256)' }, models);
    expect(lines).toEqual([
      "stage 'teacher': 12 steps over 2 epoch(s); trains bert(4x256) (no teacher)",
      "stage 'kd': 12 steps over 2 epoch(s), resuming after step 5; student bilstm(8x4), teacher bert(4x256)",
    ]);
    expect(stageModelsText({ student: 's' })).toBe('trains s (no teacher)');
  });

  it('says where an evaluation fell: at an epoch\'s end, or at a step inside one', async () => {
    const { lines, logger } = collect();
    const cb = logCallback(logger);
    await cb.onEpochEnd!({ stage: 'kd', epoch: 0, step: 10, metrics: { accuracy: 0.5 }, isBest: true });
    await cb.onEpochEnd!({ stage: 'kd', epoch: 1, step: 14, metrics: { loss: 0.25 }, isBest: false, midEpoch: true });
    expect(lines).toEqual(["stage 'kd' epoch 1: accuracy=0.5000 (best so far)", "stage 'kd' step 14 (epoch 2): loss=0.2500"]);
  });
});
