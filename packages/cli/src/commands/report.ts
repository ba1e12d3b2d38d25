import path from 'node:path';
import { existsSync } from 'node:fs';
import { DistilleryError } from '@distillery/core';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { parseCommand } from '../internals/args.js';
import { RUN_FILES, writeReport } from '../report/index.js';

/** The help of `distillery report`. */
export const REPORT_USAGE = `usage: distillery report <run-dir>

Writes <run-dir>/report.html again from <run-dir>/metrics.jsonl (run does this at its end).`;

/** `distillery report`: returns the exit code. */
export async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, {}, REPORT_USAGE, { min: 1, max: 1 });
  if (values.help) { io.stdout.write(`${REPORT_USAGE}\n`); return ExitCode.ok; }
  const dir = path.resolve(positionals[0]);
  if (!existsSync(path.join(dir, RUN_FILES.metrics))) {
    throw new DistilleryError(`${positionals[0]}: no ${RUN_FILES.metrics} (not a run folder)`, 'config');
  }
  io.stdout.write(`${await writeReport(dir)}\n`);
  return ExitCode.ok;
}
