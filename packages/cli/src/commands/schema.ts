import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { parseCommand } from '../internals/args.js';

/** The help of `distillery schema`. */
export const SCHEMA_USAGE = `usage: distillery schema [--out <file>] [--plugin <module>]...

Prints the JSON Schema (draft-07) of pipeline files for the installed plugins: every loss, model,
mapping, callback, stage plugin and dataset type, each with its options. Editors use it through a
first line '# yaml-language-server: $schema=<file>'.

  --out <file>        write it to <file> (printing the path) instead of stdout
  --plugin <module>   also a plugin module's plugins, as a pipeline's 'plugins' list names them (repeatable)`;

/** `distillery schema`: returns the exit code. */
export async function schemaCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { out: { type: 'string' }, plugin: { type: 'string', multiple: true } }, SCHEMA_USAGE,
    { min: 0, max: 0 });
  if (values.help) { io.stdout.write(`${SCHEMA_USAGE}\n`); return ExitCode.ok; }
  const { pluginsJsonSchema } = await import('../config/index.js');
  const modules = ((values.plugin ?? []) as unknown as string[]).map((m) => (m.startsWith('.') ? path.resolve(m) : m));
  const text = `${JSON.stringify(await pluginsJsonSchema({ modules }), null, 2)}\n`;
  if (values.out === undefined) {
    io.stdout.write(text);
  } else {
    const out = path.resolve(values.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, text);
    io.stdout.write(`${out}\n`);
  }
  return ExitCode.ok;
}
