// ms per distillation step of the issue-7 workload on every available backend (cpu, wasm, wasm + native
// kernels), with PyTorch (bench/reference/torch_step.py) on the same machine in the same run when
// /usr/bin/python3 has torch. Prints a table and writes bench/results/step-<time>.json.
//
//   npx tsx bench/step.ts [--steps 3] [--warmup 1] [--cpu-steps 1] [--backends cpu,wasm,native]
//                         [--native-threads 2,1] [--no-torch] [--torch-steps 5] [--torch-threads 2,1] [--top 10]
//                         [--quick]
//   npx tsx bench/step.ts --sweep [--seqs 64,128,256,512] [--batches 8,16,32] [--backends native] [--steps 3] ...
//
// --sweep: how the step's cost grows with sequence length (seq 64-512 at batch 16) and batch size (8-32 at
// seq 128), the same model and loss, wasm + native next to PyTorch shape by shape (each at every thread
// count asked, the fastest reported); --backends wasm,native or cpu,native adds the slow backends. Prints
// a table and writes bench/results/sweep-<time>.json. --quick: one warm-up and one timed step everywhere
// (PyTorch too) and no cpu backend, to check that everything runs; explicit flags still win.
//
// The cpu backend takes ~26 s a step: --cpu-steps 0 skips it. OPENBLAS_CORETYPE is reported, never changed
// (run the command under `env -u OPENBLAS_CORETYPE` for the other number). On a machine shared with other
// work, spinning threads lose badly (PyTorch's OpenMP most of all): the native kernels and PyTorch each run
// with every thread count asked, and the ratio is taken against PyTorch's fastest.
import '@distillery/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import assert from 'node:assert/strict';
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
import type { StepShape } from './workload.js';

const { values: flags } = parseArgs({
  options: {
    steps: { type: 'string' },
    warmup: { type: 'string', default: '1' },
    'cpu-steps': { type: 'string' },
    backends: { type: 'string' },
    'no-torch': { type: 'boolean', default: false },
    'torch-steps': { type: 'string' },
    'torch-threads': { type: 'string', default: `${os.availableParallelism()},1` },
    'native-threads': { type: 'string', default: `${os.availableParallelism()},1` },
    top: { type: 'string', default: '10' },
    sweep: { type: 'boolean', default: false },
    seqs: { type: 'string', default: '64,128,256,512' },
    batches: { type: 'string', default: '8,16,32' },
    quick: { type: 'boolean', default: false },
  },
});
// Defaults that depend on the mode: --quick is a smoke run, --sweep leaves out the slow backends and
// times PyTorch for as many steps as the others.
const stepsFlag = flags.steps ?? (flags.quick ? '1' : '3');
const args = {
  ...flags, steps: stepsFlag,
  'cpu-steps': flags['cpu-steps'] ?? (flags.quick ? '0' : '1'),
  backends: flags.backends ?? (flags.sweep ? 'native' : 'cpu,wasm,native'),
  'torch-steps': flags['torch-steps'] ?? (flags.quick ? '1' : flags.sweep ? stepsFlag : '5'),
};
const here = path.dirname(fileURLToPath(import.meta.url));
const BASE: StepShape = { seq: WORKLOAD.seq, batch: WORKLOAD.batch };

// The analytic count as a function of (seq, batch): the issue's 20.8 GFLOP at seq 128, batch 16; linear in
// the batch; the attention products alone quadratic in seq.
assert.equal(analyticGflop(), analyticGflop(128, 16));
assert.ok(Math.abs(analyticGflop(128, 16) - 20.8) < 0.005, `analytic GFLOP at seq 128, batch 16: ${analyticGflop(128, 16)}, not 20.8`);
assert.ok(Math.abs(analyticGflop(128, 32) - 2 * analyticGflop(128, 16)) < 1e-9);
{
  // f(S) = a·S + b·S² at a fixed batch: the second difference isolates the S² (attention) term.
  const attention = (analyticGflop(256, 16) - 2 * analyticGflop(128, 16) + analyticGflop(0, 16)) / 2;
  const w = WORKLOAD, perS2 = 16 * 4 * (w.teacher.layers * w.teacher.hidden + 3 * w.student.layers * w.student.hidden);
  assert.ok(Math.abs(attention - perS2 * 128 * 128 / 1e9) < 1e-9);
}
const gflop = analyticGflop(BASE.seq, BASE.batch);
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
  /** NaN when not measured (cpu backend, --sweep). */
  teacherSeqPerS: number;
  studentSeqPerS: number;
  loss: number;
  /** Absent in --sweep. */
  profile?: KernelProfile;
  memory: { afterWarmup: { tensors: number; rssMb: number }; afterSteps: { tensors: number; rssMb: number; steps: number } };
  note?: string;
}

const mem = () => ({ tensors: tf.memory().numTensors, rssMb: round(process.memoryUsage().rss / 2 ** 20) });

type Skipped = { backend: string; skipped: string };

/**
 * Times `steps` distillation steps (after the warm-up) of the workload at `shape` on one backend. `detail`
 * adds the kernel profile (one more step) and the teacher/student inference seq/s: the single-shape run
 * reports them, the sweep does not.
 */
async function runBackend(name: 'cpu' | 'wasm' | 'native', threads?: number,
  { shape = BASE, detail = true }: { shape?: StepShape; detail?: boolean } = {}): Promise<BackendResult | Skipped> {
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
  const w = buildWorkload(shape);
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
      if (isCpu && i === 0 && detail) profile = await profileKernels(() => { loss = w.step(); }, Number(args.top));
      else loss = w.step();
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      stepsMs.push(round(performance.now() - t0));
    }
    const afterSteps = { ...mem(), steps: warmup + steps };
    if (detail) profile ??= await profileKernels(() => w.step(), Number(args.top));
    const time = (fn: () => void, reps: number) => {
      fn();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn();
      return (performance.now() - t0) / reps;
    };
    const reps = isCpu || !detail ? 0 : 2;
    const teacherMs = reps ? time(w.teacherInference, reps) : NaN, studentMs = reps ? time(w.studentInference, reps) : NaN;
    // The median step: the shared machine's other load lands on some steps, not on the kernels.
    const msPerStep = median(stepsMs);
    return {
      backend: name === 'native' ? `wasm+native (${threads ?? 'default'} thread${threads === 1 ? '' : 's'})` : name,
      msPerStep, minMs: Math.min(...stepsMs), firstLoss, stepsMs, gflopPerS: round(analyticGflop(shape.seq, shape.batch) / (msPerStep / 1000), 2),
      teacherSeqPerS: round(shape.batch / (teacherMs / 1000)), studentSeqPerS: round(shape.batch / (studentMs / 1000)),
      loss, profile, memory: { afterWarmup, afterSteps }, note,
    };
  } finally {
    w.dispose();
    disableNativeKernels();
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

type TorchResult = { msPerStep: number; threads: number; torch: string; blas: string; loss: number; teacherSeqPerS: number | null; studentSeqPerS: number | null; stepsMs: number[] };

const python = '/usr/bin/python3';
let torchMissing: string | undefined | null = null;
/** Why PyTorch cannot run here (checked once), or undefined when it can. */
function torchUnavailable(): string | undefined {
  if (torchMissing !== null) return torchMissing;
  if (args['no-torch']) return (torchMissing = '--no-torch');
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return (torchMissing = undefined);
  } catch {
    return (torchMissing = `${python} -c 'import torch' fails (apt-get install -y python3-torch libopenblas0)`);
  }
}

/** torch_step.py at every --torch-threads; `shape` runs it at another seq/batch without the inference timings. */
function runTorch(shape?: StepShape): TorchResult[] | { skipped: string } {
  const missing = torchUnavailable();
  if (missing) return { skipped: missing };
  const extra = shape ? ['--seq', String(shape.seq), '--batch', String(shape.batch), '--no-inference'] : [];
  const runs: TorchResult[] = [];
  for (const threads of String(args['torch-threads']).split(',').map(Number)) {
    try {
      const out = execFileSync(python, [path.join(here, 'reference', 'torch_step.py'), '--steps', String(args['torch-steps']),
        '--warmup', String(args.warmup), '--threads', String(threads), ...extra, '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
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
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(path.join(here, 'results'), { recursive: true });
const command = `npx tsx bench/step.ts ${process.argv.slice(2).join(' ')}`.trim();
if (args.sweep) await sweep();
else await single();

/** Every backend at the issue's shape (seq 128, batch 16), with kernel profiles, inference seq/s and memory. */
async function single() {
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
    if (!r.profile) continue;
    console.log(`\ntop kernels, ${r.backend} (${r.profile.calls} kernel calls, ${r.profile.kernelMs} ms in kernels):`);
    for (const k of r.profile.top) console.log(`  ${k.kernel.padEnd(22)} ${String(k.ms).padStart(9)} ms ${String(k.calls).padStart(5)} calls ${(k.share * 100).toFixed(1).padStart(5)} %`);
  }
  const file = path.join(here, 'results', `step-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ command, date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) }, workload: WORKLOAD, gflopPerStep: round(gflop, 3),
    results, pytorch: torch }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

/** One point of the sweep: every backend asked (every thread count) and PyTorch at one shape. */
interface SweepPoint {
  seq: number;
  batch: number;
  gflopPerStep: number;
  results: (BackendResult | Skipped)[];
  pytorch: TorchResult[] | { skipped: string };
}

/** Fastest run (by median ms/step) of each backend family of a point: wasm+native over its thread counts, PyTorch over its. */
function bestOf(point: SweepPoint) {
  const families = new Map<string, { label: string; msPerStep: number; minMs: number; byThreads: string }>();
  const add = (family: string, label: string, ms: number, minMs: number, threads?: number) => {
    const f = families.get(family);
    const entry = threads === undefined ? '' : `${threads}t ${ms}`;
    if (!f) families.set(family, { label, msPerStep: ms, minMs, byThreads: entry });
    else {
      f.byThreads = [f.byThreads, entry].filter(Boolean).join(' · ');
      if (ms < f.msPerStep) Object.assign(f, { label, msPerStep: ms, minMs });
    }
  };
  for (const r of point.results) {
    if (!('msPerStep' in r)) continue;
    const threads = /\((\d+) threads?\)/.exec(r.backend)?.[1];
    add(r.backend.replace(/ \(.*\)$/, ''), r.backend, r.msPerStep, r.minMs, threads ? Number(threads) : undefined);
  }
  const torchRuns = Array.isArray(point.pytorch) ? point.pytorch : [];
  for (const t of torchRuns) add('pytorch', `pytorch ${t.torch} (${t.threads} thread${t.threads === 1 ? '' : 's'})`, t.msPerStep, Math.min(...t.stepsMs), t.threads);
  return families;
}

/**
 * How the step's cost grows with seq (at batch 16) and batch (at seq 128): each shape measured on the backends
 * asked (default wasm + native only) and in PyTorch right after, so each ratio comes from one stretch of time.
 */
async function sweep() {
  const list = (flag: string) => String(flag).split(',').filter((x) => x.trim() !== '').map(Number);
  const seqs = list(args.seqs), batches = list(args.batches);
  for (const x of [...seqs, ...batches]) if (!Number.isInteger(x) || x < 1) throw new Error(`--seqs/--batches: ${x} is not a positive integer`);
  const grid: StepShape[] = [];
  const key = (s: StepShape) => `${s.seq}x${s.batch}`;
  for (const shape of [...seqs.map((seq) => ({ seq, batch: BASE.batch })), ...batches.map((batch) => ({ seq: BASE.seq, batch }))]) {
    if (!grid.some((g) => key(g) === key(shape))) grid.push(shape);
  }
  console.log(`sweep: ${grid.map((g) => `seq ${g.seq} × batch ${g.batch} (${round(analyticGflop(g.seq, g.batch), 2)} GFLOP)`).join(', ')}; ` +
    `backends ${args.backends} + pytorch; ${args.warmup} warm-up + ${args.steps} timed steps (PyTorch ${args['torch-steps']})`);
  const points: SweepPoint[] = [];
  for (const shape of grid) {
    const point: SweepPoint = { ...shape, gflopPerStep: round(analyticGflop(shape.seq, shape.batch), 3), results: [], pytorch: { skipped: 'not run' } };
    for (const name of String(args.backends).split(',') as ('cpu' | 'wasm' | 'native')[]) {
      if (name === 'native' && !native.available) { point.results.push({ backend: 'wasm+native', skipped: native.reason }); continue; }
      const threadCounts = name === 'native' ? String(args['native-threads']).split(',').map(Number) : [undefined];
      for (const threads of threadCounts) {
        console.log(`seq ${shape.seq}, batch ${shape.batch}: ${name}${threads ? ` (${threads} threads)` : ''}...`);
        try {
          point.results.push(await runBackend(name, threads, { shape, detail: false }));
        } catch (error) {
          // A shape that does not fit (the wasm heap stops at 4 GB) must not lose the rest of the sweep.
          point.results.push({ backend: name === 'native' ? `wasm+native (${threads} threads)` : name, skipped: `failed: ${(error as Error).message.split('\n')[0]}` });
        }
      }
    }
    if (!torchUnavailable()) console.log(`seq ${shape.seq}, batch ${shape.batch}: pytorch...`);
    point.pytorch = runTorch(shape);
    const best = bestOf(point);
    console.log(`  → ${[...best.values()].map((b) => `${b.label}: ${b.msPerStep} ms`).join(', ') || 'nothing ran'}`);
    points.push(point);
  }

  const base = points.find((p) => key(p) === key(BASE));
  const baseBest = base && bestOf(base);
  const fmt = (x: number, digits = 2) => (Number.isFinite(x) ? String(round(x, digits)) : '–');
  const table = (title: string, shapes: StepShape[]) => {
    if (!shapes.length) return;
    console.log(`\n${title}\n`);
    console.log('| seq | batch | GFLOP/step | × GFLOP at 128×16 | backend (fastest thread count) | ms/step (median) | min | × ms at 128×16 | GFLOP/s | × PyTorch | ms by threads |');
    console.log('|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|');
    for (const shape of shapes) {
      const point = points.find((p) => key(p) === key(shape));
      if (!point) continue;
      const best = bestOf(point);
      const torchMs = best.get('pytorch')?.msPerStep;
      for (const [family, b] of best) {
        const baseMs = baseBest?.get(family)?.msPerStep;
        console.log(`| ${point.seq} | ${point.batch} | ${fmt(point.gflopPerStep)} | ${base ? fmt(point.gflopPerStep / base.gflopPerStep) : '–'} | ${b.label} | ` +
          `${b.msPerStep} | ${b.minMs} | ${baseMs ? fmt(b.msPerStep / baseMs) : '–'} | ${fmt(point.gflopPerStep / (b.msPerStep / 1000))} | ` +
          `${torchMs ? `${fmt(b.msPerStep / torchMs)}×` : '–'} | ${b.byThreads || '–'} |`);
      }
      for (const r of point.results) if ('skipped' in r) console.log(`| ${point.seq} | ${point.batch} | ${fmt(point.gflopPerStep)} | | ${r.backend}: skipped: ${r.skipped} | | | | | | |`);
      if (!Array.isArray(point.pytorch)) console.log(`| ${point.seq} | ${point.batch} | ${fmt(point.gflopPerStep)} | | pytorch: skipped: ${point.pytorch.skipped} | | | | | | |`);
    }
  };
  table(`sequence length, batch ${BASE.batch}`, seqs.map((seq) => ({ seq, batch: BASE.batch })));
  table(`batch size, seq ${BASE.seq}`, batches.map((batch) => ({ seq: BASE.seq, batch })));

  const summary = points.map((p) => {
    const best = bestOf(p);
    const fastest = (family: string) => {
      const b = best.get(family);
      return b ? { label: b.label, msPerStep: b.msPerStep, gflopPerS: round(p.gflopPerStep / (b.msPerStep / 1000), 2) } : null;
    };
    const nat = fastest('wasm+native'), torch = fastest('pytorch');
    return { seq: p.seq, batch: p.batch, gflopPerStep: p.gflopPerStep, wasmNative: nat, pytorch: torch, ratio: nat && torch ? round(nat.msPerStep / torch.msPerStep, 2) : null };
  });
  const file = path.join(here, 'results', `sweep-${stamp}.json`);
  writeFileSync(file, JSON.stringify({ command, date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) }, workload: WORKLOAD,
    settings: { warmup: Number(args.warmup), steps: Number(args.steps), torchSteps: Number(args['torch-steps']), backends: args.backends,
      nativeThreads: args['native-threads'], torchThreads: args['torch-threads'] },
    summary, points }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}
