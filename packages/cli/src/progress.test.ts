import type { Student } from '@distillery/core';
import { describe, expect, it } from 'vitest';
import { formatDuration, Progress } from './progress.js';

const start = { stage: 'kd', totalSteps: 100, startStep: 0, epochs: 2, student: 'bilstm(8x4)', teacher: 'bert(2x16)' };
/** onStageStart's models (Progress reads only the event's names). */
const models = { student: {} as Student };
const step = (n: number) => ({
  stage: 'kd', step: n, totalSteps: 100, epoch: n > 50 ? 1 : 0, loss: 0.5, terms: { hinton: 0.5, 'hinton.soft': 0.25, 'hinton.hard': 0.75 },
  gradNorm: 1, learningRate: 1e-3, elapsedMs: n * 100,
});

function terminal(columns: number) {
  const stream = { text: '', isTTY: true, columns, write(s: string) { stream.text += s; return true; } };
  return stream;
}

describe('Progress', () => {
  it('on a terminal redraws one bar in place, prints lines above it, and ends the line when the stage ends', async () => {
    const stream = terminal(160);
    let now = 0;
    const progress = new Progress({ stream, now: () => now });
    const cb = progress.callback(0, 2);
    await cb.onStageStart!(start, models);
    for (let n = 1; n <= 3; n++) { now += 1000; await cb.onStep!(step(n)); }
    await cb.onEpochEnd!({ stage: 'kd', epoch: 0, step: 3, metrics: { accuracy: 0.75 }, isBest: true });
    now += 10; await cb.onStep!(step(4)); // within 100 ms of the last draw: drawn only when the stage ends
    await cb.onStageEnd!({ stage: 'kd', status: 'completed', step: 100 });
    const frames = stream.text.split('\r\x1b[2K');
    expect(frames[0]).toBe("stage 'kd' (1/2): 100 steps over 2 epoch(s); student bilstm(8x4), teacher bert(2x16)\n");
    expect(frames[1]).toBe('[1/2] kd ░░░░░░░░░░░░░░░░░░░░ 1/100 epoch 1/2 loss 0.5000 [hinton 0.5000, hinton.soft 0.2500, hinton.hard 0.7500] ' +
      'lr 1.00e-3 10.00 steps/s ETA 0:10');
    expect(stream.text).toContain("\r\x1b[2Kstage 'kd' epoch 1: accuracy=0.7500 (best so far)\n\r\x1b[2K[1/2] kd ");
    expect(frames.filter((f) => f.includes(' 4/100 ')).length).toBe(1);
    expect(stream.text.endsWith("\nstage 'kd' completed after step 100\n")).toBe(true);
  });

  it('fits a narrow terminal by dropping loss terms first', async () => {
    const stream = terminal(120);
    const progress = new Progress({ stream });
    const cb = progress.callback(1, 2);
    await cb.onStageStart!(start, models);
    await cb.onStep!(step(50));
    const bar = stream.text.split('\r\x1b[2K')[1];
    expect(bar.length).toBeLessThanOrEqual(119);
    expect(bar).toMatch(/^\[2\/2\] kd █{10}░{10} 50\/100 epoch 1\/2 loss 0\.5000 \[hinton 0\.5000, …\] lr 1\.00e-3 10\.00 steps\/s ETA 0:05$/);
  });

  it('elsewhere prints a plain line every `every` steps and at the last step', async () => {
    const lines: string[] = [];
    const progress = new Progress({ stream: { write: (s: string) => lines.push(s) }, every: 25 });
    const cb = progress.callback(0, 1);
    await cb.onStageStart!({ ...start, startStep: 40 }, models);
    for (let n = 41; n <= 100; n++) await cb.onStep!({ ...step(n), elapsedMs: (n - 40) * 100 });
    expect(lines[0]).toContain('resuming after step 40');
    expect(lines.slice(1).map((l) => /step (\d+)\//.exec(l)?.[1])).toEqual(['50', '75', '100']);
    expect(lines[1]).toBe("stage 'kd' step 50/100 (50%) epoch 1/2 loss 0.5000 [hinton 0.5000, hinton.soft 0.2500, hinton.hard 0.7500] lr 1.00e-3 10.00 steps/s ETA 0:05\n");
    expect(lines.join('')).not.toContain('\x1b');
  });

  it('says a stage without teacher trains its model, rather than calling it a student', async () => {
    const lines: string[] = [];
    const cb = new Progress({ stream: { write: (s: string) => lines.push(s) } }).callback(0, 2);
    await cb.onStageStart!({ ...start, stage: 'teacher', teacher: undefined, student: 'bert(4x256)' }, models);
    expect(lines).toEqual(["stage 'teacher' (1/2): 100 steps over 2 epoch(s); trains bert(4x256) (no teacher)\n"]);
  });

  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(65), formatDuration(3725), formatDuration(Number.NaN)]).toEqual(['0:05', '1:05', '1:02:05', '--:--']);
  });
});
