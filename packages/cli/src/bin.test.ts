// The command as a process: a real SIGINT, the printed resume line, exit codes, and the built bin.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPipelineFile } from './config/index.js';
import { memoryIo } from './fixtures.test-util.js';
import { main, processIo } from './main.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const src = fileURLToPath(new URL('./bin.ts', import.meta.url));
const dist = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** A two-stage YAML pipeline: a 1-layer BERT (hidden 8) trained on labels, then a BiLSTM distilled from it; 8 steps each. */
const PIPELINE = `
backend: cpu
seed: 7
output: ./run
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
    optimizer: { learningRate: 0.01 }
  - name: student
    teacher: { stage: teacher }
    student: small
    losses: [{ use: hinton, options: { temperature: 2 } }]
    data: { train: train, validation: valid }
    batchSize: 8
    epochs: 2
    optimizer: { learningRate: 0.02 }
`;

interface Exited { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/**
 * Runs `distillery` from source (tsx resolves @distillery/* to src through the root tsconfig's paths,
 * so no build is needed) or from dist; `onStdout` may signal the child.
 */
function distillery(args: string[], { bin = 'src', onStdout }: { bin?: 'src' | 'dist'; onStdout?: (all: string, send: (s: NodeJS.Signals) => void) => void } = {}): Promise<Exited> {
  const argv = bin === 'src' ? ['--import', 'tsx', src, ...args] : [dist, ...args];
  const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; onStdout?.(stdout, (s) => child.kill(s)); });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const files = (out: string) => ['teacher', 'student'].flatMap((s) => [`students/${s}/model.safetensors`, `checkpoints/${s}/best/weights.safetensors`])
  .map((f) => [f, readFileSync(path.join(out, f))] as const);

describe('distillery as a process', () => {
  it('SIGINT finishes the step, checkpoints, exits 130 printing the resume command; running it ends with the weights of an uninterrupted run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-sigint-'));
    const file = path.join(dir, 'pipeline.yaml');
    writeFileSync(file, PIPELINE);
    // The uninterrupted reference, in this process (same code, same cpu backend).
    const reference = path.join(dir, 'reference');
    const ref = memoryIo((f, o) => loadPipelineFile(f, o));
    expect(await main(['run', file, '--out', reference], ref)).toBe(0);

    let sent = false;
    const first = await distillery(['run', file, '--log-every', '1'], {
      onStdout: (all, send) => { if (!sent && all.includes("stage 'student' step 2/8")) { sent = true; send('SIGINT'); } },
    });
    expect(first.stderr).toBe('');
    expect([first.code, first.signal]).toEqual([130, null]);
    expect(first.stdout).toContain('Ctrl-C: finishing the current step, then writing a checkpoint');
    const at = /Interrupted in stage 'student' after step (\d+)\/8; checkpoint written to (.*)\.\n/.exec(first.stdout);
    expect(at, first.stdout).not.toBeNull();
    expect(at![2]).toBe(path.join(dir, 'run', 'checkpoints', 'student', 'last'));
    expect(JSON.parse(readFileSync(path.join(at![2], 'state.json'), 'utf8')).step).toBe(Number(at![1]));
    expect(Number(at![1])).toBeLessThan(8);
    const resume = /To resume, run:\n {2}(.*)\n/.exec(first.stdout)![1];
    expect(resume).toBe(`distillery run ${file} --log-every 1 --resume`);

    const second = await distillery(resume.split(' ').slice(1));
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("stage 'teacher' (1/2): 8 steps over 2 epoch(s), already complete: restored from its checkpoint");
    expect(second.stdout).toContain(`stage 'student' (2/2): 8 steps over 2 epoch(s), resuming after step ${at![1]}`);
    for (const [name, bytes] of files(path.join(dir, 'run'))) {
      expect(bytes.equals(readFileSync(path.join(reference, name))), name).toBe(true);
    }
    expect(readFileSync(path.join(dir, 'run', 'report.html'), 'utf8')).toContain('resumed 1×');
  });

  it('a reader that closes the pipe early (distillery schema | head) ends it quietly with exit 0', async () => {
    const node = JSON.stringify(process.execPath);
    const child = spawn('bash', ['-c', `set -o pipefail; ${node} --import tsx ${JSON.stringify(src)} schema | head -c 10 >/dev/null`],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });

  it('processIo routes SIGINT to the run command and stops routing it when unsubscribed', () => {
    const calls: number[] = [];
    const off = processIo().onInterrupt(() => calls.push(1));
    process.emit('SIGINT');
    off();
    expect(calls).toEqual([1]);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('the built bin (dist/bin.js): a shebang, --version exits 0, a missing pipeline file exits 2', async () => {
    expect(existsSync(dist), 'packages/cli/dist is missing: run npm run build').toBe(true);
    expect(readFileSync(dist, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const version = await distillery(['--version'], { bin: 'dist' });
    expect([version.code, version.stdout]).toEqual([0, `${JSON.parse(readFileSync(path.join(root, 'packages/cli/package.json'), 'utf8')).version}\n`]);
    const missing = await distillery(['run', '/nonexistent/pipeline.yaml'], { bin: 'dist' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read the pipeline file \/nonexistent\/pipeline\.yaml/);
  });
});
