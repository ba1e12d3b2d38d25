import path from 'node:path';
import type { Logger, Plugin } from '@distillery/core';
import type { CliIo } from '../io.js';

/** The logger of the model commands: info to stdout (to stderr with --json, keeping stdout parseable), warnings to stderr. */
export function cliLogger(io: CliIo, json: boolean): Logger {
  return {
    info: (m) => (json ? io.stderr : io.stdout).write(`${m}\n`),
    warn: (m) => io.stderr.write(`warning: ${m}\n`),
  };
}

/**
 * The plugins the model commands read folders with: those of the `--plugin` modules first (so that they are
 * asked before the installed packages' whether a folder is theirs), then the installed @distillery packages'.
 */
export async function commandPlugins(modules: readonly string[] | string | boolean | undefined): Promise<Plugin[]> {
  const { discoverPlugins } = await import('../config/plugins-discovery.js');
  const specs = (Array.isArray(modules) ? modules : []).map((m: string) => (m.startsWith('.') ? path.resolve(m) : m));
  const found = await discoverPlugins({ modules: specs });
  const own = found.filter((d) => specs.includes(d.from));
  return [...own, ...found.filter((d) => !own.includes(d))].map((d) => d.plugin);
}
