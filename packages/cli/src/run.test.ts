import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo, tinyPipeline, type MemoryIo } from './fixtures.test-util.js';
import { main } from './main.js';
import { readMetrics } from './metrics-log.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'distillery-cli-'));

/** The bytes a run leaves that must not depend on interruptions: each stage's saved student and best/ weights. */
function weights(out: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const stage of ['teacher', 'student']) {
    for (const rel of [`students/${stage}/model.safetensors`, `checkpoints/${stage}/best/weights.safetensors`, `checkpoints/${stage}/last/weights.safetensors`]) {
      files[rel] = readFileSync(path.join(out, rel));
    }
  }
  return files;
}

/** Interrupts (as Ctrl-C does) when the plain progress prints the given step line. */
const interruptAt = (stage: string, step: number) => (text: string, io: MemoryIo) => {
  if (text.startsWith(`stage '${stage}' step ${step}/`)) io.interrupt();
};

describe('distillery run', () => {
  let reference: Record<string, Buffer>;

  it('runs every stage: plain progress, metrics.jsonl, checkpoints, saved students, report; exit 0', async () => {
    const out = tmp();
    const io = memoryIo(tinyPipeline());
    const code = await main(['run', 'pipeline.yaml', '--out', out, '--log-every', '5'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toContain("stage 'teacher' (1/2): 12 steps over 2 epoch(s); trains mlp(16-16) (no teacher)");
    expect(io.out).toContain("stage 'student' (2/2): 12 steps over 2 epoch(s); student mlp(4-4), teacher mlp(16-16)");
    expect(io.out).toMatch(/stage 'student' step 10\/12 \(83%\) epoch 2\/2 loss \d\.\d{4} \[hinton \d\.\d{4}, hinton\.hard \d\.\d{4}, hinton\.soft .*supervised .*\] lr \S+ [\d.]+ steps\/s ETA \d+:\d\d/);
    expect(io.out).toContain("stage 'student' epoch 2: accuracy=");
    expect(io.out).not.toContain('\x1b[');
    const records = readMetrics(path.join(out, 'metrics.jsonl'));
    const count = (event: string) => records.filter((r) => r.event === event).length;
    expect([count('run'), count('stage-start'), count('step'), count('epoch'), count('stage-end'), count('compare'), count('run-end')])
      .toEqual([1, 2, 24, 4, 2, 2, 1]);
    const compare = records.filter((r) => r.event === 'compare').at(-1) as Extract<(typeof records)[number], { event: 'compare' }>;
    expect(compare.rows.map((r) => [r.role, r.model, r.parameters])).toEqual([
      ['teacher', 'mlp(16-16)', 24 * 16 + 16 * 16 + 16 + 16 * 2 + 2], ['student', 'mlp(4-4)', 24 * 4 + 4 * 4 + 4 + 4 * 2 + 2],
    ]);
    expect(compare.rows.every((r) => r.metrics!.accuracy >= 0 && r.examplesPerSecond! > 0)).toBe(true);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).status).toBe('completed');
    reference = weights(out);
  });

  it('refuses to start over a finished run without --force (exit 2), and --resume of a finished run retrains nothing', async () => {
    const out = tmp();
    expect(await main(['run', 'p.yaml', '--out', out], memoryIo(tinyPipeline()))).toBe(0);
    const again = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out], again)).toBe(2);
    expect(again.err).toMatch(/^error: checkpoints of an earlier run exist \(stage 'teacher': .*; continue that run with --resume, or start over with --force/);
    expect(again.err).not.toContain('    at ');
    const resumed = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out, '--resume'], resumed)).toBe(0);
    expect(resumed.out).toContain("stage 'teacher' (1/2): 12 steps over 2 epoch(s), already complete: restored from its checkpoint");
    expect(resumed.out).not.toMatch(/step \d+\/12/);
    expect(weights(out)).toEqual(reference);
    expect(await main(['run', 'p.yaml', '--out', out, '--force'], memoryIo(tinyPipeline()))).toBe(0);
    expect(weights(out)).toEqual(reference);
  });

  it('--resume with nothing to resume fails (exit 2) naming where it looked; a gap between stages is refused', async () => {
    const out = tmp();
    const io = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out, '--resume'], io)).toBe(2);
    expect(io.err).toContain(`error: --resume: nothing to resume: stage 'teacher' has no checkpoint in ${path.join(out, 'checkpoints', 'teacher')} ` +
      '(no last/, best/ or last.old-*); run without --resume to start afresh');
    expect(existsSync(path.join(out, 'students'))).toBe(false);

    // The first stage's checkpoints deleted after a finished run: the second stage's are of another run.
    expect(await main(['run', 'p.yaml', '--out', out], memoryIo(tinyPipeline()))).toBe(0);
    rmSync(path.join(out, 'checkpoints', 'teacher'), { recursive: true });
    const gap = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out, '--resume'], gap)).toBe(2);
    expect(gap.err).toMatch(/--resume: nothing to resume: stage 'teacher' has no checkpoint/);
    rmSync(path.join(out, 'checkpoints'), { recursive: true });
    const none = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out, '--resume'], none)).toBe(2);
    expect(none.err).toMatch(/nothing to resume/);
  });

  it('--resume over a damaged last/ of a finished stage falls back to best/ with a warning; both damaged: exit 2 naming them', async () => {
    const out = tmp();
    expect(await main(['run', 'p.yaml', '--out', out], memoryIo(tinyPipeline()))).toBe(0);
    const last = path.join(out, 'checkpoints', 'student', 'last');
    const file = path.join(last, 'weights.safetensors');
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0x20;
    writeFileSync(file, bytes);
    const io = memoryIo(tinyPipeline());
    const code = await main(['run', 'p.yaml', '--out', out, '--resume'], io);
    expect(io.err).toContain(`stage 'student': skipped a damaged checkpoint (checkpoint ${last}: ${file} does not match its SHA-256`);
    expect(code).toBe(0);
    rmSync(path.join(out, 'checkpoints', 'student', 'best', 'manifest.json'));
    writeFileSync(file, bytes);
    const broken = memoryIo(tinyPipeline());
    expect(await main(['run', 'p.yaml', '--out', out, '--resume'], broken)).toBe(2);
    expect(broken.err).toMatch(/no intact checkpoint to resume from: checkpoint .*last: .*; checkpoint .*best: has no manifest\.json/);
    expect(broken.err).not.toContain('    at ');
  });

  // Interrupt points: mid-epoch in the second stage; at an epoch's last step (core would write last/
  // before that epoch's evaluation); at the first stage's very last step; with everySteps checkpoints.
  it.each([
    ['student', 3, {}],
    ['student', 6, {}],
    ['teacher', 12, {}],
    ['teacher', 5, { everySteps: 2 }],
  ] as const)('Ctrl-C in stage %s at step %i (%o): exit 130, a resume line; --resume ends with identical weights', async (stage, step, options) => {
    const out = tmp();
    const first = memoryIo(tinyPipeline(options), { onStdout: interruptAt(stage, step) });
    const code = await main(['run', 'my pipeline.yaml', '--out', out, '--log-every', '1', '--backend', 'cpu'], first);
    expect(first.err).toBe('');
    expect(code).toBe(130);
    expect(first.out).toContain('Ctrl-C: finishing the current step, then writing a checkpoint');
    const checkpoint = path.join(out, 'checkpoints', stage, 'last');
    expect(first.out).toContain(`Interrupted in stage '${stage}' after step ${step}/12; checkpoint written to ${checkpoint}.`);
    expect(first.out).toContain(`To resume, run:\n  distillery run 'my pipeline.yaml' --out ${out} --log-every 1 --backend cpu --resume\n`);
    expect(first.out).not.toMatch(new RegExp(`stage '${stage}' step ${step + 1}/`));
    const state = JSON.parse(readFileSync(path.join(checkpoint, 'state.json'), 'utf8'));
    expect(state.step).toBe(step);
    expect(JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')).status).toBe('interrupted');

    const second = memoryIo(tinyPipeline(options));
    expect(await main(['run', 'my pipeline.yaml', '--out', out, '--log-every', '1', '--backend', 'cpu', '--resume'], second)).toBe(0);
    expect(second.out).toMatch(new RegExp(step === 12 ? `stage '${stage}'.*already complete` : `stage '${stage}'.*resuming after step ${step}`));
    expect(second.out).toContain(step === 12 ? "stage 'student' step 1/12" : `stage '${stage}' step ${step + 1}/12`);
    const resumed = weights(out);
    for (const [file, bytes] of Object.entries(reference)) expect(resumed[file].equals(bytes), file).toBe(true);
    // The metrics log holds every step once across both invocations.
    const steps = readMetrics(path.join(out, 'metrics.jsonl')).filter((r) => r.event === 'step');
    expect(steps.length).toBe(24);
  });

  it('a second Ctrl-C exits at once with 130', async () => {
    const out = tmp();
    const io = memoryIo(tinyPipeline(), { onStdout: (text, io) => { if (text.startsWith("stage 'teacher' step 2/")) { io.interrupt(); io.interrupt(); } } });
    await main(['run', 'p.yaml', '--out', out, '--log-every', '1'], io);
    expect(io.exits).toEqual([130]);
    expect(io.err).toContain('second Ctrl-C: exiting now');
  });

  it('a loss that goes NaN fails the run with exit 1, naming the step and term, and still writes the report', async () => {
    const out = tmp();
    const io = memoryIo(tinyPipeline({ nan: true }));
    expect(await main(['run', 'p.yaml', '--out', out], io)).toBe(1);
    expect(io.err).toMatch(/^error: stage 'student': step 1: 'nan' is NaN; training stopped with the weights of step 0/);
    expect(io.err).not.toContain('    at ');
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('status: <b>failed</b>');
  });

  it('bad command lines and inputs exit 2 with the usage or the message, no stack', async () => {
    const cases: [string[], RegExp][] = [
      [['run'], /^error: missing argument\n\nusage: distillery run/],
      [['run', 'p.yaml', '--backend', 'gpu'], /^error: --backend must be one of auto, wasm, cpu, tensorflow, got 'gpu'/],
      [['run', 'p.yaml', '--bogus'], /^error: Unknown option '--bogus'/],
      [['frobnicate'], /^error: unknown command 'frobnicate'\n\nusage: distillery <command>/],
      [['inspect', '/nonexistent/model'], /^error: \/nonexistent\/model: no such folder/],
      [['export', '/x', '--format', 'onnx', '--out', '/y'], /^error: --format must be one of hf, tfjs, got 'onnx'/],
    ];
    for (const [argv, message] of cases) {
      const io = memoryIo(tinyPipeline());
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(io.err, argv.join(' ')).toMatch(message);
      expect(io.err).not.toContain('    at ');
    }
    const { ConfigError } = await import('./config/errors.js');
    const io = memoryIo(async () => { throw new ConfigError({ path: 'stages[1].losses[0].options.temperature', value: -1, message: 'expected a number > 0, got -1' }); });
    expect(await main(['run', 'p.yaml'], io)).toBe(2);
    expect(io.err).toBe('error: stages[1].losses[0].options.temperature: expected a number > 0, got -1\n');
  });
});
