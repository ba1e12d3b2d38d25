// ms per distillation step of the issue-7 workload on every available backend (cpu, wasm, wasm + native
// kernels), with PyTorch (bench/reference/torch_step.py) on the same machine in the same run when
// /usr/bin/python3 has torch. Prints a table and writes bench/results/step-<time>.json.
//
//   npx tsx bench/step.ts [--steps 3] [--warmup 1] [--cpu-steps 1] [--backends cpu,wasm,native]
//                         [--native-threads 2,1] [--no-torch] [--torch-steps 5] [--torch-threads 2,1] [--top 10]
//
// The cpu backend takes ~26 s a step: --cpu-steps 0 skips it. OPENBLAS_CORETYPE is reported, never changed
// (run the command under `env -u OPENBLAS_CORETYPE` for the other number). On a machine shared with other
// work, spinning threads lose badly (PyTorch's OpenMP most of all): the native kernels and PyTorch each run
// with every thread count asked, and the ratio is taken against PyTorch's fastest.
import '@distillery/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { disableNativeKernels, enableNativeKernels, nativeKernelsAvailable } from '@distillery/backend-native';
import { profileKernels, round } from './profile.js';
import type { KernelProfile } from './profile.js';
import { WORKLOAD, analyticGflop, buildWorkload } from './workload.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'cpu-steps': { type: 'string', default: '1' },
    backends: { type: 'string', default: 'cpu,wasm,native' },
    'no-torch': { type: 'boolean', default: false },
    'torch-steps': { type: 'string', default: '5' },
    'torch-threads': { type: 'string', default: `${os.availableParallelism()},1` },
    'native-threads': { type: 'string', default: `${os.availableParallelism()},1` },
    top: { type: 'string', default: '10' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const gflop = analyticGflop();
const silent = { info: () => {}, warn: () => {} };

interface BackendResult {
  backend: string;
  msPerStep: number;
  /** Fastest timed step, ms. */
  minMs: number;
  /** Loss of the first step (before any update): agrees across backends. */
  firstLoss: number;
  /** Every timed step, ms. */
  stepsMs: number[];
  gflopPerS: number;
  teacherSeqPerS: number;
  studentSeqPerS: number;
  loss: number;
  profile: KernelProfile;
  memory: { afterWarmup: { tensors: number; rssMb: number }; afterSteps: { tensors: number; rssMb: number; steps: number } };
  note?: string;
}

const mem = () => ({ tensors: tf.memory().numTensors, rssMb: round(process.memoryUsage().rss / 2 ** 20) });

async function runBackend(name: 'cpu' | 'wasm' | 'native', threads?: number): Promise<BackendResult | { backend: string; skipped: string }> {
  const isCpu = name === 'cpu';
  const steps = isCpu ? Number(args['cpu-steps']) : Number(args.steps);
  if (steps <= 0) return { backend: name, skipped: 'no steps asked (--cpu-steps 0)' };
  if (!(await tf.setBackend(isCpu ? 'cpu' : 'wasm'))) return { backend: name, skipped: 'backend did not initialise' };
  disableNativeKernels();
  let note: string | undefined;
  if (name === 'native') {
    const r = enableNativeKernels({ logger: silent, threads });
    if (!r.replaced.length) return { backend: 'wasm+native', skipped: r.reason ?? 'no kernels replaced' };
    note = `${r.replaced.length} kernels native (OpenBLAS ${r.blasCore}, ${r.threads} threads)`;
  }
  const w = buildWorkload();
  try {
    // The cpu backend is too slow to warm up: its one step is both timed and profiled.
    const warmup = isCpu ? 0 : Number(args.warmup);
    let firstLoss = NaN;
    for (let i = 0; i < warmup; i++) {
      const l = w.step();
      if (i === 0) firstLoss = l;
    }
    const afterWarmup = mem();
    const stepsMs: number[] = [];
    let loss = NaN;
    let profile: KernelProfile | undefined;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      if (isCpu && i === 0) profile = await profileKernels(() => { loss = w.step(); }, Number(args.top));
      else loss = w.step();
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      stepsMs.push(round(performance.now() - t0));
    }
    const afterSteps = { ...mem(), steps: warmup + steps };
    profile ??= await profileKernels(() => w.step(), Number(args.top));
    const time = (fn: () => void, reps: number) => {
      fn();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn();
      return (performance.now() - t0) / reps;
    };
    const reps = isCpu ? 0 : 2;
    const teacherMs = reps ? time(w.teacherInference, reps) : NaN, studentMs = reps ? time(w.studentInference, reps) : NaN;
    // The median step: the shared machine's other load lands on some steps, not on the kernels.
    const msPerStep = median(stepsMs);
    return {
      backend: name === 'native' ? `wasm+native (${threads ?? 'default'} thread${threads === 1 ? '' : 's'})` : name,
      msPerStep, minMs: Math.min(...stepsMs), firstLoss, stepsMs, gflopPerS: round(gflop / (msPerStep / 1000), 2),
      teacherSeqPerS: round(WORKLOAD.batch / (teacherMs / 1000)), studentSeqPerS: round(WORKLOAD.batch / (studentMs / 1000)),
      loss, profile, memory: { afterWarmup, afterSteps }, note,
    };
  } finally {
    w.dispose();
    disableNativeKernels();
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

type TorchResult = { msPerStep: number; threads: number; torch: string; blas: string; loss: number; teacherSeqPerS: number; studentSeqPerS: number; stepsMs: number[] };

function runTorch(): TorchResult[] | { skipped: string } {
  if (args['no-torch']) return { skipped: '--no-torch' };
  const python = '/usr/bin/python3';
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return { skipped: `${python} -c 'import torch' fails (apt-get install -y python3-torch libopenblas0)` };
  }
  const runs: TorchResult[] = [];
  for (const threads of String(args['torch-threads']).split(',').map(Number)) {
    try {
      const out = execFileSync(python, [path.join(here, 'reference', 'torch_step.py'), '--steps', String(args['torch-steps']),
        '--threads', String(threads), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
      runs.push(JSON.parse(out.trim().split('\n').at(-1)!));
    } catch (error) {
      return { skipped: `torch_step.py failed: ${(error as Error).message.split('\n')[0]}` };
    }
  }
  return runs;
}

tf.enableProdMode();
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version,
  openblasCoretype: process.env.OPENBLAS_CORETYPE ?? '(unset)', loadAverageAtStart: os.loadavg().map((l) => round(l, 2)),
};
console.log(`workload: teacher ${JSON.stringify(WORKLOAD.teacher)}, student ${JSON.stringify(WORKLOAD.student)}, ` +
  `vocab ${WORKLOAD.vocab}, seq ${WORKLOAD.seq}, batch ${WORKLOAD.batch}; ${round(gflop, 2)} GFLOP/step`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, OPENBLAS_CORETYPE=${machine.openblasCoretype}, load ${machine.loadAverageAtStart.join(' ')}`);
const native = nativeKernelsAvailable();
if (!native.available) console.log(`wasm+native: unavailable: ${native.reason}`);

const results: (BackendResult | { backend: string; skipped: string })[] = [];
for (const name of String(args.backends).split(',') as ('cpu' | 'wasm' | 'native')[]) {
  if (name === 'native' && !native.available) { results.push({ backend: 'wasm+native', skipped: native.reason }); continue; }
  const threadCounts = name === 'native' ? String(args['native-threads']).split(',').map(Number) : [undefined];
  for (const threads of threadCounts) {
    console.log(`running ${name}${threads ? ` (${threads} threads)` : ''}...`);
    results.push(await runBackend(name, threads));
  }
}
const torch = runTorch();

const rows = results.filter((r): r is BackendResult => 'msPerStep' in r);
const torchRuns = Array.isArray(torch) ? torch : [];
const torchMs = torchRuns.length ? Math.min(...torchRuns.map((t) => t.msPerStep)) : undefined;
console.log('\n| backend | ms/step (median) | min | GFLOP/s | vs PyTorch | teacher seq/s | student seq/s | loss step 1 | tensors warm→end | RSS MB warm→end |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
for (const r of rows) {
  const ratio = torchMs ? `${round(r.msPerStep / torchMs, 2)}×` : '–';
  const m = r.memory;
  const seq = (x: number) => (Number.isFinite(x) ? x : '–');
  console.log(`| ${r.backend} | ${r.msPerStep} | ${r.minMs} | ${r.gflopPerS} | ${ratio} | ${seq(r.teacherSeqPerS)} | ${seq(r.studentSeqPerS)} | ${r.firstLoss.toFixed(5)} | ` +
    `${m.afterWarmup.tensors}→${m.afterSteps.tensors} | ${m.afterWarmup.rssMb}→${m.afterSteps.rssMb} (${m.afterSteps.steps} steps) |`);
}
for (const t of torchRuns) {
  console.log(`| pytorch ${t.torch} (${t.threads} thread${t.threads === 1 ? '' : 's'}, ${t.blas}) | ${t.msPerStep} | ${Math.min(...t.stepsMs)} | ` +
    `${round(gflop / (t.msPerStep / 1000), 2)} | ${round(t.msPerStep / torchMs!, 2)}× | ${t.teacherSeqPerS} | ${t.studentSeqPerS} | | | |`);
}
for (const r of results) if ('skipped' in r) console.log(`${r.backend}: skipped: ${r.skipped}`);
if (!Array.isArray(torch)) console.log(`pytorch: skipped: ${torch.skipped}`);
for (const r of rows) {
  console.log(`\ntop kernels, ${r.backend} (${r.profile.calls} kernel calls, ${r.profile.kernelMs} ms in kernels):`);
  for (const k of r.profile.top) console.log(`  ${k.kernel.padEnd(22)} ${String(k.ms).padStart(9)} ms ${String(k.calls).padStart(5)} calls ${(k.share * 100).toFixed(1).padStart(5)} %`);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(path.join(here, 'results'), { recursive: true });
const file = path.join(here, 'results', `step-${stamp}.json`);
writeFileSync(file, JSON.stringify({ command: `npx tsx bench/step.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(),
  machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) }, workload: WORKLOAD, gflopPerStep: round(gflop, 3),
  results, pytorch: torch }, null, 2));
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
