import { existsSync } from 'node:fs';
import path from 'node:path';
import { DistilleryError, type BatchSource, type Logger } from '@distillery/core';
import { loadTextDataset, spamAssassin, textBatchSource, type TextExample } from '@distillery/data';
import { bertUncasedTokenizerJson, Tokenizer } from '@distillery/models';
import type { PipelineLike, PipelineLoader } from '../pipeline-types.js';

/** What `eval --data` resolved to. */
export interface EvalData {
  source: BatchSource;
  /** For the printout, e.g. 'spam-assassin:test (577 examples)'. */
  description: string;
  /** The source's examples in order, when known (their texts go to the predictions file). */
  examples?: readonly TextExample[];
  /** Class names by id, when the data names them. */
  labels?: readonly string[];
}

/** Options of loadEvalData. */
export interface EvalDataOptions {
  /** With a pipeline file: the dataset (or stage) to evaluate on. */
  dataset?: string;
  /** tokenizer.json (or a folder holding one, or 'bert-base-uncased' for the bundled one), for text files and built-in corpora. */
  tokenizer?: string;
  /** @default 128 */
  maxLength?: number;
  /** Label names in id order (the model's), so a file's label names map onto its outputs. */
  labels?: readonly string[];
  loadPipeline: PipelineLoader;
  logger: Logger;
}

const TEXT_FILE = /\.(jsonl|ndjson|csv|tsv)$/i;
const PIPELINE_FILE = /\.(ya?ml|json)$/i;
const SPAM = /^spam-?assassin(?::(train|validation|test))?$/i;

function needTokenizer(tokenizer: string | undefined, what: string): Tokenizer {
  if (!tokenizer) {
    throw new DistilleryError(`eval: ${what} is text: give --tokenizer <tokenizer.json> or --tokenizer bert-base-uncased ` +
      `(none was found beside the model)`, 'config');
  }
  // The name the pipeline files use for the bundled vocabulary.
  return tokenizer === 'bert-base-uncased' ? new Tokenizer(bertUncasedTokenizerJson()) : new Tokenizer(tokenizer);
}

/**
 * Resolves `eval --data`:
 * - `spam-assassin[:validation|test|train]`: the built-in corpus split (validation by default);
 * - a `.jsonl`, `.csv` or `.tsv` file of labelled texts (data's loadTextDataset);
 * - a pipeline file (`.yaml`, `.yml`, `.json`) with `--dataset <name>` or `file#name`: a dataset under
 *   the file's `data`, or the validation data of the stage of that name (`name:train` for its training data).
 * Text is tokenized with `tokenizer`; pipeline data comes tokenized as the pipeline does it.
 */
export async function loadEvalData(spec: string, options: EvalDataOptions): Promise<EvalData> {
  const { maxLength = 128, labels } = options;
  const spam = SPAM.exec(spec);
  if (spam) {
    const split = (spam[1]?.toLowerCase() ?? 'validation') as 'train' | 'validation' | 'test';
    const tokenizer = needTokenizer(options.tokenizer, spec);
    const corpus = spamAssassin();
    const examples = corpus[split];
    const source = textBatchSource(examples, tokenizer, { maxLength });
    return { source, examples, labels: corpus.labels.names, description: `spam-assassin:${split} (${examples.length} examples)` };
  }
  const hash = spec.lastIndexOf('#');
  const [file, fromHash] = hash > 0 && !existsSync(spec) ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  if (!existsSync(file)) throw new DistilleryError(`eval: --data ${spec}: no such file, and not 'spam-assassin[:split]'`, 'data');
  if (TEXT_FILE.test(file)) {
    const read = await loadTextDataset(file, { ...(labels ? { labels } : {}), logger: options.logger });
    const { examples } = read;
    if (examples.some((e) => e.label === undefined)) throw new DistilleryError(`eval: ${file} has rows without labels`, 'data');
    const source = textBatchSource(examples, needTokenizer(options.tokenizer, file), { maxLength });
    return { source, examples, ...(read.labels ? { labels: read.labels.names } : {}), description: `${file} (${examples.length} examples)` };
  }
  if (PIPELINE_FILE.test(file)) {
    const name = options.dataset ?? fromHash;
    if (!name) throw new DistilleryError(`eval: --data ${file} is a pipeline: name the data with --dataset <name> or ${file}#<name>`, 'config');
    return fromPipeline(file, name, await options.loadPipeline(path.resolve(file), { logger: options.logger }));
  }
  throw new DistilleryError(`eval: --data ${spec}: expected a .jsonl/.csv/.tsv file, a pipeline file with a dataset name, ` +
    `or 'spam-assassin[:split]'`, 'config');
}

const isSource = (x: unknown): x is BatchSource =>
  typeof x === 'object' && x !== null && typeof (x as BatchSource).batch === 'function' && typeof (x as BatchSource).size === 'number';

function fromPipeline(file: string, name: string, loaded: PipelineLike): EvalData {
  const [base, part] = name.includes(':') ? [name.slice(0, name.lastIndexOf(':')), name.slice(name.lastIndexOf(':') + 1)] : [name, undefined];
  const datasets = (loaded.datasets ?? {}) as Record<string, unknown>;
  const entry = datasets[base];
  // The config loader gives { source, examples, labels, ... } per dataset; a bare source is accepted too.
  const about = (source: BatchSource) => {
    const owner = Object.values(datasets).find((d) => !isSource(d) && (d as { source?: unknown })?.source === source) as
      { examples?: readonly TextExample[]; labels?: readonly string[] } | undefined;
    return { ...(owner?.examples ? { examples: owner.examples } : {}), ...(owner?.labels ? { labels: owner.labels } : {}) };
  };
  if (entry !== undefined) {
    const own = isSource(entry) ? entry : (entry as { source?: unknown }).source;
    if (isSource(own) && part === undefined) return { source: own, ...about(own), description: `${file}#${name} (${own.size} examples)` };
    const split = (entry as Record<string, unknown>)[part ?? 'validation'] ?? (part ? undefined : (entry as Record<string, unknown>).test);
    if (isSource(split)) return { source: split, description: `${file}#${base}:${part ?? 'validation'} (${split.size} examples)` };
  }
  const stage = loaded.stages.find((s) => (s as { name?: string }).name === base) as { data?: Record<string, unknown> } | undefined;
  const data = stage?.data?.[part ?? 'validation'];
  if (isSource(data)) return { source: data, ...about(data), description: `${file}: stage '${base}' ${part ?? 'validation'} data (${data.size} examples)` };
  const known = [...Object.keys(datasets), ...loaded.stages.map((s) => (s as { name?: string }).name).filter(Boolean)];
  throw new DistilleryError(`eval: ${file} has no dataset or stage '${base}'${part ? ` with ${part} data` : ' with validation data'} ` +
    `(known: ${known.join(', ') || 'none'})`, 'config');
}
