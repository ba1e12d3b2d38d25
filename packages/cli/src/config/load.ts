import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { buildPipeline, type BuildOptions, type BuiltPipeline } from './build.js';
import { ConfigError } from './errors.js';
import { parsePipelineConfig, type PipelineConfig } from './schema.js';

/** Options of loadPipelineFile. */
export type LoadOptions = Omit<BuildOptions, 'file'>;

/**
 * Reads a pipeline file (YAML, or JSON by its `.json` extension), validates it, and builds it:
 * parsePipelineConfig (relative paths resolved against the file's folder) then buildPipeline.
 * Every problem is a ConfigError with its key path (syntax errors: line and column); nothing trains.
 */
export async function loadPipelineFile(file: string, options: LoadOptions = {}): Promise<BuiltPipeline> {
  const config = await readPipelineFile(file);
  return buildPipeline(config, { ...options, file: path.resolve(file) });
}

/** Reads and validates a pipeline file without loading plugins or data (for `--check`-style uses). */
export async function readPipelineFile(file: string): Promise<PipelineConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (cause) {
    throw new ConfigError({ path: '', value: file, message: `cannot read the pipeline file ${absolute}: ${(cause as Error).message}` },
      { cause, file: absolute });
  }
  const input = parseText(text, absolute);
  return parsePipelineConfig(input, { baseDir: path.dirname(absolute), file: absolute });
}

/**
 * The object a YAML or JSON text holds. Both go through the YAML parser (JSON is YAML), so syntax
 * errors of either name the line and column, and a key given twice is an error in both.
 */
export function parseText(text: string, file: string): unknown {
  const kind = path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const first = doc.errors[0];
    const where = first.linePos ? `:${first.linePos[0].line}:${first.linePos[0].col}` : '';
    throw new ConfigError({ path: '', value: undefined,
      message: `${path.basename(file)}${where}: invalid ${kind}: ${first.message.split('\n')[0]}` }, { cause: first, file });
  }
  return doc.toJS();
}
