import type { Logger } from '@distillery/core';
import type { CliIo } from '../io.js';

/** The logger of the model commands: info to stdout (to stderr with --json, keeping stdout parseable), warnings to stderr. */
export function cliLogger(io: CliIo, json: boolean): Logger {
  return {
    info: (m) => (json ? io.stderr : io.stdout).write(`${m}\n`),
    warn: (m) => io.stderr.write(`warning: ${m}\n`),
  };
}
