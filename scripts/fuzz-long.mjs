#!/usr/bin/env node
// `npm run fuzz:long [-- --scale N --seed S]`: the suite's seeded fuzz tests (every *fuzz*.test.ts)
// with N times their corpus (default 20) and another seed (default 1), then one line per corpus:
// cases, valid results, refusals (typed errors naming the file), the slowest case. The suite runs
// each corpus at scale 1 with its own seed; docs/reliability.md quotes this script's figures.
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
for (const [key, value] of Object.entries(values)) {
  if (!/^[1-9]\d*$/.test(value)) {
    console.error(`--${key}: expected a positive integer, got ${value}`);
    process.exit(2);
  }
}
const files = execFileSync('git', ['ls-files', '*fuzz*.test.ts'], { encoding: 'utf8' }).split('\n').filter(Boolean);
console.log(`fuzz:long: ${files.length} corpora × ${values.scale}, seed ${values.seed}\n${files.map((f) => `  ${f}`).join('\n')}`);
const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', ...files], {
  encoding: 'utf8', maxBuffer: 256 * 2 ** 20,
  env: { ...process.env, DISTILLERY_FUZZ_SCALE: values.scale, DISTILLERY_FUZZ_SEED: values.seed },
});
const output = `${run.stdout}\n${run.stderr}`;
// eslint-disable-next-line no-control-regex
const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.startsWith('FUZZ '));
console.log('\n| corpus | seed | cases | valid | refused | slowest case (ms) |\n|---|---:|---:|---:|---:|---:|');
for (const line of lines) {
  const [, name, ...pairs] = line.trim().split(/\s+/);
  const f = Object.fromEntries(pairs.map((p) => p.split('=')));
  console.log(`| ${name} | ${f.seed} | ${f.cases} | ${f.valid} | ${f.refused} | ${f.slowest_ms} |`);
}
const summary = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => /Test Files|Tests /.test(l)).map((l) => l.trim());
console.log(`\n${summary.join('\n')}\nwall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (run.status !== 0) {
  console.log(output.slice(-8000));
  process.exit(1);
}
