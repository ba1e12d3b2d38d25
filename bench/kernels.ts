// Kernel-level comparison for the issue-7 workload: GFLOP/s of its matrix-product shapes (plain, with
// transposeA/transposeB as tfjs's own gradients issue them, and batched attention products) and ms of
// its hottest element-wise, reduction and transpose kernels, on plain wasm vs wasm + native kernels.
//
//   npx tsx bench/kernels.ts [--reps 5] [--quick]
//
// Writes bench/results/kernels-<time>.json. OPENBLAS_CORETYPE is reported, never changed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { disableNativeKernels, enableNativeKernels, nativeKernelsAvailable } from '@distillery/backend-native';
import { round } from './profile.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' }, quick: { type: 'boolean', default: false } } });
const here = path.dirname(fileURLToPath(import.meta.url));
const silent = { info: () => {}, warn: () => {} };

interface Case { name: string; shapes: number[][]; flops?: number; run: (...xs: tf.Tensor[]) => tf.Tensor; slowOnWasm?: boolean }

const T = 16 * 128;
const mm = (name: string, a: number[], b: number[], ta = false, tb = false, slowOnWasm = ta || tb): Case => {
  const m = ta ? a[a.length - 1] : a[a.length - 2], k = ta ? a[a.length - 2] : a[a.length - 1], n = tb ? b[b.length - 2] : b[b.length - 1];
  const batch = a.slice(0, -2).reduce((x, y) => x * y, 1);
  return { name, shapes: [a, b], flops: 2 * batch * m * n * k, run: (x, y) => tf.matMul(x, y, ta, tb), slowOnWasm };
};
const cases: Case[] = [
  mm('teacher FFN in   [2048,256]·[256,1024]', [T, 256], [256, 1024]),
  mm('teacher FFN out  [2048,1024]·[1024,256]', [T, 1024], [1024, 256]),
  mm('teacher QKV/O    [2048,256]·[256,256]', [T, 256], [256, 256]),
  mm('student FFN in   [2048,128]·[128,512]', [T, 128], [128, 512]),
  mm('student QKV/O    [2048,128]·[128,128]', [T, 128], [128, 128]),
  mm('projection       [2048,128]·[128,256]', [T, 128], [128, 256]),
  mm('dX = dY·Wᵀ        [2048,512]·[128,512]ᵀ', [T, 512], [128, 512], false, true),
  mm('dW = Xᵀ·dY        [2048,128]ᵀ·[2048,512]', [T, 128], [T, 512], true, false),
  mm('attention Q·Kᵀ    [16,4,128,64]·[16,4,128,64]ᵀ', [16, 4, 128, 64], [16, 4, 128, 64], false, true, false),
  mm('attention P·V     [16,4,128,128]·[16,4,128,64]', [16, 4, 128, 128], [16, 4, 128, 64], false, false, false),
  mm('attention dP·Vᵀ   [16,2,128,64]·[16,2,128,64]ᵀ', [16, 2, 128, 64], [16, 2, 128, 64], false, true, false),
  { name: 'Transpose [2048,512]→[512,2048]', shapes: [[T, 512]], run: (x) => tf.transpose(x) },
  { name: 'Transpose heads [16,128,4,64]', shapes: [[16, 128, 4, 64]], run: (x) => tf.transpose(x, [0, 2, 1, 3]) },
  { name: 'Sum bias grad [2048,1024] axis 0', shapes: [[T, 1024]], run: (x) => tf.sum(x, 0) },
  { name: 'Mean layer norm [16,128,256] axis -1', shapes: [[16, 128, 256]], run: (x) => tf.mean(x, -1, true) },
  { name: 'Erf [16,128,1024]', shapes: [[16, 128, 1024]], run: (x) => tf.erf(x) },
  { name: 'Add bias [2048,1024]+[1024]', shapes: [[T, 1024], [1024]], run: (x, y) => tf.add(x, y) },
  { name: 'Multiply [16,128,1024]·[16,128,1024]', shapes: [[16, 128, 1024], [16, 128, 1024]], run: (x, y) => tf.mul(x, y) },
  { name: 'LessEqual [16,2,128,128] ≤ scalar', shapes: [[16, 2, 128, 128], []], run: (x, y) => tf.lessEqual(x, y) },
  { name: 'GatherV2 embedding [8000,128] by [16,128]', shapes: [[8000, 128]], run: (x) => tf.gather(x, tf.tensor2d(Int32Array.from({ length: T }, (_, i) => (i * 7919) % 8000), [16, 128], 'int32')) },
];

function time(c: Case, reps: number): number {
  const xs = c.shapes.map((s) => tf.randomUniform(s, -1, 1));
  tf.tidy(() => c.run(...xs)).dispose();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    tf.tidy(() => c.run(...xs)).dispose();
    best = Math.min(best, performance.now() - t0);
  }
  tf.dispose(xs);
  return best;
}

tf.enableProdMode();
await tf.setBackend('wasm');
const native = nativeKernelsAvailable();
if (!native.available) { console.log(`native kernels unavailable: ${native.reason}`); process.exit(0); }
const reps = Number(args.reps);
const rows: { kernel: string; wasmMs: number | null; nativeMs: number; speedup: number | null; wasmGflopPerS?: number | null; nativeGflopPerS?: number }[] = [];
const r = enableNativeKernels({ logger: silent });
console.log(`OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}, OpenBLAS core ${r.blasCore}, ${r.threads} threads; ` +
  `${os.cpus()[0]?.model}, load ${os.loadavg().map((l) => round(l, 2)).join(' ')}; best of ${reps}`);
for (const c of cases) {
  enableNativeKernels({ logger: silent });
  const nativeMs = time(c, reps);
  disableNativeKernels();
  // Plain wasm runs transposed products at ~1 GFLOP/s: once, and not at all with --quick.
  const wasmMs = c.slowOnWasm && args.quick ? null : time(c, c.slowOnWasm ? 1 : reps);
  const gf = (ms: number | null) => (c.flops && ms ? round(c.flops / ms / 1e6, 1) : undefined);
  rows.push({ kernel: c.name, wasmMs: wasmMs && round(wasmMs, 2), nativeMs: round(nativeMs, 2), speedup: wasmMs ? round(wasmMs / nativeMs, 1) : null,
    ...(c.flops ? { wasmGflopPerS: gf(wasmMs) ?? null, nativeGflopPerS: gf(nativeMs) } : {}) });
}
console.log('\n| kernel | wasm ms | native ms | speedup | wasm GFLOP/s | native GFLOP/s |\n|---|---:|---:|---:|---:|---:|');
for (const x of rows) {
  console.log(`| ${x.kernel} | ${x.wasmMs ?? '–'} | ${x.nativeMs} | ${x.speedup ? `${x.speedup}×` : '–'} | ${x.wasmGflopPerS ?? ''} | ${x.nativeGflopPerS ?? ''} |`);
}
mkdirSync(path.join(here, 'results'), { recursive: true });
const file = path.join(here, 'results', `kernels-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ command: `npx tsx bench/kernels.ts ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), openblasCoretype: process.env.OPENBLAS_CORETYPE ?? '(unset)',
    blasCore: r.blasCore, threads: r.threads, loadAverage: os.loadavg().map((l) => round(l, 2)) }, reps, rows }, null, 2));
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
