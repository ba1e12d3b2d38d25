// SIGKILL at seeded moments — mid-step, mid-evaluation, mid-checkpoint-write — then `--resume`, again and
// again: every episode ends with the bytes of an uninterrupted run. (SIGKILL gives the process no chance
// to write anything: only what the atomic writers already published survives.)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '@distillery/core/kit';
import { loadPipelineFile } from './config/index.js';
import { memoryIo } from './fixtures.test-util.js';
import { main } from './main.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dist = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Two stages of 8 steps (4 a epoch), a checkpoint every 2 steps and at each epoch's end, evaluation each epoch. */
const PIPELINE = `
backend: cpu
seed: 3
data:
  train: { type: synthetic, numClasses: 2, vocabSize: 24, seqLength: 8, size: 32, seed: 1 }
  valid: { type: synthetic, numClasses: 2, vocabSize: 24, seqLength: 8, size: 24, seed: 2 }
models:
  big:
    type: bert
    config: { vocab_size: 24, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16, num_labels: 2 }
  small: { type: bilstm, embeddingSize: 8, units: 4, denseSize: 8 }
stages:
  - name: teacher
    student: big
    losses: [{ use: supervised }]
    data: { train: train, validation: valid }
    batchSize: 8
    epochs: 2
    checkpoint: { everySteps: 2 }
    optimizer: { learningRate: 0.01 }
  - name: student
    teacher: { stage: teacher }
    student: small
    losses: [{ use: hinton, options: { temperature: 2 } }]
    data: { train: train, validation: valid }
    batchSize: 8
    epochs: 2
    checkpoint: { everySteps: 2 }
    optimizer: { learningRate: 0.02 }
`;

/** The bytes that must not depend on interruptions. */
const FILES = ['teacher', 'student'].flatMap((s) => [
  `students/${s}/model.safetensors`, `checkpoints/${s}/best/weights.safetensors`, `checkpoints/${s}/last/weights.safetensors`,
  `checkpoints/${s}/last/optimizer.safetensors`,
]);

interface Attempt { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; killed: boolean }

/** Runs the built bin; SIGKILLs it `delayMs` after it prints `trigger` (if it does). */
function run(args: string[], trigger: string, delayMs: number): Promise<Attempt> {
  const child = spawn(process.execPath, [dist, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!killed && stdout.includes(trigger)) {
      killed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, killed: signal === 'SIGKILL' }));
  });
}

describe('SIGKILL at seeded moments, then --resume', () => {
  it('ends every episode with the bytes of an uninterrupted run (at least 20 kills)', async () => {
    expect(existsSync(dist), 'packages/cli/dist is missing: run npm run build').toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-kill-'));
    const file = path.join(dir, 'pipeline.yaml');
    writeFileSync(file, PIPELINE);
    const reference = path.join(dir, 'reference');
    expect(await main(['run', file, '--out', reference], memoryIo((f, o) => loadPipelineFile(f, o)))).toBe(0);
    const expected = FILES.map((f) => readFileSync(path.join(reference, f)));

    const rng = new Rng(20261203);
    let kills = 0;
    let episodes = 0;
    const duringWrites: string[] = [];
    while (kills < 20) {
      const out = path.join(dir, `episode-${episodes++}`);
      let resume = false;
      for (let attempt = 0; ; attempt++) {
        expect(attempt, `episode ${episodes} does not finish`).toBeLessThan(30);
        // A moment: just after a step line (some at a checkpoint step: 2, 4, 6, 8), 0-40 ms later.
        const stage = rng.next() < 0.5 ? 'teacher' : 'student';
        const step = 1 + rng.int(8);
        const delay = rng.int(40);
        const args = ['run', file, '--out', out, '--log-every', '1', ...(resume ? ['--resume'] : [])];
        const r = await run(args, `stage '${stage}' step ${step}/8`, delay);
        if (r.killed) {
          kills++;
          if (step % 2 === 0) duringWrites.push(`${stage} step ${step} +${delay} ms`);
          resume = true;
          continue;
        }
        if (resume && r.code === 2 && r.stderr.includes('nothing to resume')) {
          // Killed before the first checkpoint was published: the user starts afresh, as told.
          resume = false;
          continue;
        }
        expect(r.stderr, r.stdout).toBe('');
        expect(r.code).toBe(0);
        break;
      }
      FILES.forEach((f, i) => expect(readFileSync(path.join(out, f)).equals(expected[i]), `episode ${episodes}: ${f}`).toBe(true));
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    // Some kills fell right after a checkpoint step, while its checkpoint was being written.
    expect(duringWrites.length).toBeGreaterThan(3);
  }, 600_000);
});
