import { describe, expect, it } from 'vitest';
import { planAssistants } from './rule.js';
import type { ModelShape } from './shapes.js';

const shape = (numLayers: number, hiddenSize: number, numHeads?: number, intermediateSize?: number): ModelShape =>
  ({ numLayers, hiddenSize, numHeads, intermediateSize });
const bertBase = shape(12, 768, 12, 3072);

describe("planAssistants('auto'): MiniLM's rule", () => {
  it('bert-base → 6x384: one assistant 12x384 with the student heads and feed-forward width', () => {
    const plan = planAssistants(bertBase, shape(6, 384, 12, 1536), 'auto');
    expect(plan.mode).toBe('auto');
    expect(plan.assistants).toEqual([{ numLayers: 12, hiddenSize: 384, numHeads: 12, intermediateSize: 1536 }]);
    expect(plan.description).toContain('one assistant 12x384');
    expect(plan.description).toContain('M=6 ≤ N/2=6, H_s=384 ≤ H_t/2=384');
  });

  it('the boundary M = N/2 and H_s = H_t/2 takes an assistant (both bounds are inclusive)', () => {
    const plan = planAssistants(shape(4, 32, 2, 64), shape(2, 16, 2, 32), 'auto');
    expect(plan.assistants).toEqual([{ numLayers: 4, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }]);
  });

  it('one layer or one unit past the boundary: no assistant, and the description says which bound failed', () => {
    const deeper = planAssistants(shape(4, 32, 2), shape(3, 16, 2), 'auto');
    expect(deeper.assistants).toEqual([]);
    expect(deeper.description).toContain('M=3 > N/2=2');
    const wider = planAssistants(shape(4, 32, 2), shape(2, 17, 1), 'auto');
    expect(wider.assistants).toEqual([]);
    expect(wider.description).toContain('H_s=17 > H_t/2=16');
    expect(wider.description).toMatch(/^no assistant \(auto, MiniLM rule/);
  });

  it('an odd teacher depth compares without rounding: 5 layers allow M = 2, not M = 3', () => {
    expect(planAssistants(shape(5, 64, 4), shape(2, 32, 4), 'auto').assistants).toHaveLength(1);
    expect(planAssistants(shape(5, 64, 4), shape(3, 32, 4), 'auto').assistants).toHaveLength(0);
  });

  it('a student as large as the teacher, or only shallower, needs none', () => {
    expect(planAssistants(bertBase, bertBase, 'auto').assistants).toEqual([]);
    expect(planAssistants(bertBase, shape(3, 768, 12), 'auto').assistants).toEqual([]);
    expect(planAssistants(bertBase, shape(12, 128, 2), 'auto').assistants).toEqual([]);
  });

  it('a student without heads (BiLSTM, 2·150 wide) gets the teacher heads when they divide its width', () => {
    const plan = planAssistants(bertBase, shape(1, 300), 'auto');
    expect(plan.assistants).toEqual([{ numLayers: 12, hiddenSize: 300, numHeads: 12, intermediateSize: 1200 }]);
  });
});

describe('planAssistants with an explicit list', () => {
  it('builds a longer chain, teacher side first, filling heads and feed-forward width', () => {
    const plan = planAssistants(bertBase, shape(4, 312, 12, 1200),
      [{ numLayers: 10, hiddenSize: 768 }, { numLayers: 8, hiddenSize: 512, numHeads: 8 },
        { numLayers: 6, hiddenSize: 312 }]);
    expect(plan.mode).toBe('explicit');
    expect(plan.assistants).toEqual([
      { numLayers: 10, hiddenSize: 768, numHeads: 12, intermediateSize: 3072 },  // the teacher's width
      { numLayers: 8, hiddenSize: 512, numHeads: 8, intermediateSize: 2048 },    // 4 × 512
      { numLayers: 6, hiddenSize: 312, numHeads: 12, intermediateSize: 1200 },  // the student's width
    ]);
    expect(plan.description).toBe(
      '3 assistants (explicit): teacher 12x768 → assistant 10x768 → assistant 8x512 → assistant 6x312 → student 4x312');
  });

  it("'none' and an empty list give the single stage", () => {
    expect(planAssistants(bertBase, shape(6, 384), 'none')).toMatchObject({ assistants: [], mode: 'none' });
    expect(planAssistants(bertBase, shape(6, 384), [])).toMatchObject({ assistants: [], mode: 'explicit' });
  });

  it('rejects bad shapes, naming the assistant and the key', () => {
    expect(() => planAssistants(bertBase, shape(6, 384, 12), [{ numLayers: 8, hiddenSize: 500 }]))
      .toThrow("assistant[0]: hiddenSize 500 is divisible by neither the teacher's heads (12) nor the student's (12)");
    expect(() => planAssistants(bertBase, shape(6, 384), [{ numLayers: 8, hiddenSize: 768 },
      { numLayers: 0, hiddenSize: 768 }])).toThrow('assistant[1].numLayers must be a positive integer, got 0');
    expect(() => planAssistants(bertBase, shape(6, 384), [{ numLayers: 8, hiddenSize: 512, numHeads: 5 }]))
      .toThrow('hiddenSize 512 is not a multiple of numHeads 5');
    expect(() => planAssistants(bertBase, shape(6, 384), [{ numLayers: 8, hiddenSize: 512, layers: 3 } as never]))
      .toThrow("assistant[0]: unknown key 'layers'; known keys: numLayers, hiddenSize, numHeads, intermediateSize");
    expect(() => planAssistants(bertBase, shape(6, 384), 'always' as never)).toThrow("must be 'auto', 'none' or a list of shapes");
  });
});
