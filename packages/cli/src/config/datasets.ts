import { existsSync } from 'node:fs';
import { arraySource, silentLogger, type BatchSource, type Logger } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import { syntheticTask } from '@distillery/core/testing';
import {
  loadTextDataset, mlmSource, countTokens, mobyDick, spamAssassin, textBatchSource, type TextEncoderLike, type TextExample,
} from '@distillery/data';
import { bertUncasedTokenizerJson, Tokenizer } from '@distillery/models';
import { ConfigError, fromPluginError } from './errors.js';
import type { DatasetDef, MlmDef } from './schema.js';

/** A dataset of the config, ready for stages. */
export interface LoadedDataset {
  /** Its key under `data`. */
  name: string;
  def: DatasetDef;
  /** What stages train or evaluate on. */
  source: BatchSource;
  /** The text examples (text datasets). */
  examples?: readonly TextExample[];
  /** Class names by id, for labelled classification data. */
  labels?: readonly string[];
  /** The tokenizer (text datasets). */
  tokenizer?: Tokenizer;
  /** Longest sequence a batch can have. */
  maxLength: number;
  /** Ids are below this (the tokenizer's vocabulary, or the synthetic vocabulary). */
  vocabSize: number;
}

/** Builds tokenizers once per spec ('bert-base-uncased' or an absolute path). */
export class TokenizerCache {
  private readonly cache = new Map<string, Tokenizer>();

  get(spec: string, where: string): Tokenizer {
    let tokenizer = this.cache.get(spec);
    if (tokenizer) return tokenizer;
    if (spec !== 'bert-base-uncased' && !existsSync(spec)) {
      throw new ConfigError({ path: where, value: spec,
        message: `no such file or folder ${spec} (expected 'bert-base-uncased', a tokenizer.json, or a folder holding one)` });
    }
    try {
      tokenizer = spec === 'bert-base-uncased' ? new Tokenizer(bertUncasedTokenizerJson()) : new Tokenizer(spec);
    } catch (error) {
      throw fromPluginError(error, where, undefined);
    }
    this.cache.set(spec, tokenizer);
    return tokenizer;
  }
}

/** A random subset of `limit` examples (in their original order), drawn with `seed`. */
function sample<T>(items: readonly T[], limit: number | undefined, seed: number): T[] {
  if (limit === undefined || limit >= items.length) return [...items];
  const picked = new Rng(seed).shuffle(Array.from({ length: items.length }, (_, i) => i)).slice(0, limit).sort((a, b) => a - b);
  return picked.map((i) => items[i]);
}

/**
 * Builds one dataset: reads the corpus or file, samples `limit` examples with the file's seed, and
 * wraps them in a BatchSource (tokenized lazily by the data package, ids cached after first use).
 */
export async function loadDataset(name: string, def: DatasetDef, seed: number, tokenizers: TokenizerCache,
  logger: Logger = silentLogger): Promise<LoadedDataset> {
  const at = `data.${name}`;
  if (def.type === 'synthetic') {
    const { type: _type, labelled = true, limit, ...options } = def;
    const task = syntheticTask(options);
    const rows = sample(task.inputIds.map((ids, i) => [ids, task.labels[i]] as const), limit, seed);
    const inputIds = rows.map(([ids]) => ids);
    return {
      name, def, maxLength: def.seqLength, vocabSize: def.vocabSize,
      source: arraySource(labelled ? { inputIds, labels: rows.map(([, label]) => label) } : { inputIds }),
      ...(labelled ? { labels: Array.from({ length: def.numClasses }, (_, i) => String(i)) } : {}),
    };
  }
  const tokenizer = tokenizers.get(def.tokenizer, `${at}.tokenizer`);
  let examples: TextExample[];
  let labels: readonly string[] | undefined;
  let regression = false;
  try {
    if (def.type === 'spam-assassin') {
      const corpus = spamAssassin({ keepSubject: def.keepSubject });
      examples = corpus[def.split ?? 'train'];
      labels = corpus.labels.names;
    } else if (def.type === 'moby-dick') {
      examples = mobyDick({ unit: def.unit, minLength: def.minLength });
    } else {
      if (!existsSync(def.path)) throw new ConfigError({ path: `${at}.path`, value: def.path, message: `no such file ${def.path}` });
      regression = def.task === 'regression';
      const read = await loadTextDataset(def.path, {
        format: def.type, columns: def.columns, task: def.task, header: def.header, delimiter: def.delimiter,
        onBadRow: def.onBadRow, labels: def.labels, logger,
      });
      examples = read.examples;
      labels = read.labels?.names;
    }
  } catch (error) {
    throw fromPluginError(error, at, def as unknown as Record<string, unknown>);
  }
  if (def.type !== 'moby-dick' && def.labelled === false) {
    examples = examples.map(({ label: _label, ...rest }) => rest);
    labels = undefined;
  }
  examples = sample(examples, def.limit, seed);
  if (examples.length === 0) throw new ConfigError({ path: at, value: def, message: `the dataset has no examples` });
  const maxLength = def.maxLength ?? 128;
  return {
    name, def, examples, tokenizer, maxLength, vocabSize: tokenizer.vocabSize,
    ...(labels ? { labels } : {}),
    source: textBatchSource(examples, tokenizer, { maxLength, padding: def.padding, regression }),
  };
}

/** A stage's training source with DistilBERT masking (`mlm` of the stage), or the source itself. */
export function withMlm(dataset: LoadedDataset, mlm: MlmDef | undefined, stageSeed: number, where: string): BatchSource {
  if (!mlm) return dataset.source;
  const vocab: TextEncoderLike | undefined = dataset.tokenizer;
  if (!vocab) {
    throw new ConfigError({ path: where, value: mlm,
      message: `masking needs a tokenized text dataset, but '${dataset.name}' is ${dataset.def.type}` });
  }
  try {
    const tokenCounts = mlm.smoothing ? countTokens(dataset.source, vocab.vocabSize) : undefined;
    return mlmSource(dataset.source, vocab, { ...mlm, seed: mlm.seed ?? stageSeed, ...(tokenCounts ? { tokenCounts } : {}) });
  } catch (error) {
    throw fromPluginError(error, where, mlm as Record<string, unknown>);
  }
}
