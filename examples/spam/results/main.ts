// `npm run results [-- --quick]`: runs every experiment of examples/spam/experiments and writes RESULTS.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatDuration, Progress } from '@distillery/cli';
import type { Logger } from '@distillery/core';
import { EXPERIMENT_IDS } from './plan.js';
import { FULL, QUICK } from './profile.js';
import { runResults } from './runner.js';
import { writeResults } from './write.js';
import type { SpamGroup } from './internals/spam-groups.js';

const USAGE = `usage: npm run results [-- options]

Runs the SpamAssassin distillation study (examples/spam/experiments/*.yaml) and writes RESULTS.md,
results.html and results.json. The full mode takes hours on 2 cores; --quick about 15 minutes.

  --quick             widths / 4, 64 tokens, 1,200 training e-mails, a third of the epochs, T in {1, 4, 20}
  --only <ids>        comma-separated: ${EXPERIMENT_IDS.join(', ')} (the teacher always runs)
  --heldout <class>   the class the held-out experiment removes: easy-ham, hard-ham, spam (default)
  --seed <n>          replaces every file's seed (default: the files' seed, 1)
  --resume            reuse finished runs of the same config in the run folder
  --out <dir>         run folder (default examples/spam/runs/results, or runs/results-quick)
  --markdown <file>   (default examples/spam/RESULTS.md; with --quick, RESULTS.md in the run folder)
  -h, --help`;

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.resolve(here, '..');

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' }, only: { type: 'string' }, heldout: { type: 'string' }, seed: { type: 'string' },
      resume: { type: 'boolean' }, out: { type: 'string' }, markdown: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.seed !== undefined && !Number.isInteger(Number(values.seed))) throw new Error(`--seed: expected an integer, got ${values.seed}`);
  const profile = values.quick ? QUICK : FULL;
  const runDir = path.resolve(values.out ?? path.join(example, 'runs', values.quick ? 'results-quick' : 'results'));
  const markdown = path.resolve(values.markdown ?? (values.quick ? path.join(runDir, 'RESULTS.md') : path.join(example, 'RESULTS.md')));
  const logger: Logger = { info: (m) => console.log(m), warn: (m) => console.warn(`warning: ${m}`) };
  const data = await runResults({
    profile, experimentsDir: path.join(example, 'experiments'), runDir,
    ...(values.only ? { only: values.only.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    ...(values.heldout ? { heldout: values.heldout as SpamGroup } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    resume: values.resume === true,
    command: `npm run results${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    logger, progress: () => new Progress({ stream: process.stdout, errorStream: process.stderr }),
  });
  const written = await writeResults(data, { markdown, json: path.join(runDir, 'results.json'), readme: path.join(example, 'README.md') });
  console.log(`\n${written.markdown}\n${written.html}\n${written.json}\nwall time ${formatDuration(data.meta.wallSeconds)}`);
  return 0;
}

// Exit codes are set, not forced: process.exit() could cut stdout short when it is a pipe.
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(`results: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
}
