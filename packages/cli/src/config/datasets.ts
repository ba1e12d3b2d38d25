import { existsSync } from 'node:fs';
import { arraySource, silentLogger, type BatchSource, type Logger } from '@distillery/core';
import { syntheticTask } from '@distillery/core/testing';
import {
  describeKeptLabels, HIDDEN_LABEL, keepLabels, loadTextDataset, mlmSource, countTokens, mobyDick, sampleExamples, spamAssassin,
  textBatchSource, type TextEncoderLike, type TextExample,
} from '@distillery/data';
import { bertUncasedTokenizerJson, Tokenizer } from '@distillery/models';
import { ConfigError, fromPluginError } from './errors.js';
import type { DatasetDef, LabelFieldsDef, MlmDef } from './schema.js';

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

/**
 * The rows a dataset keeps: `limit` of them drawn with the file's seed (per class with `stratify`),
 * then, with `keepLabels`, the labels of a seeded subset of those (the others hidden, -100), logged
 * as `data 'train': 231 of 4,623 rows keep their label (5 %, seed 1, stratified; …)`.
 */
function selectRows<T extends { label?: number }>(rows: T[], def: DatasetDef, opts: {
  name: string; seed: number; labelled: boolean; regression: boolean; labels?: readonly string[]; logger: Logger;
}): T[] {
  const at = `data.${opts.name}`;
  const { keepLabels: keep, stratify } = def as LabelFieldsDef;
  const { limit } = def as { limit?: number };
  if (stratify && limit === undefined) throw new ConfigError({ path: `${at}.stratify`, value: stratify, message: `stratify draws 'limit' per class; set limit` });
  for (const [key, on] of [['stratify', stratify], ['keepLabels.stratify', keep?.stratify]] as const) {
    if (on && (!opts.labelled || opts.regression)) {
      throw new ConfigError({ path: `${at}.${key}`, value: on,
        message: `stratifying needs class labels, but the dataset is ${opts.regression ? 'a regression set' : 'unlabelled'}` });
    }
  }
  if (keep && !opts.labelled) {
    throw new ConfigError({ path: `${at}.keepLabels`, value: keep,
      message: `the dataset is unlabelled${def.type !== 'moby-dick' && (def as { labelled?: boolean }).labelled === false ? ' (labelled: false)' : ''}: it has no labels to keep` });
  }
  let out = limit === undefined ? rows : sampleExamples(rows, { limit, seed: opts.seed, stratify: stratify ?? false });
  if (keep) {
    try {
      const { others = 'hide', ...draw } = keep;
      const kept = keepLabels(out, { ...draw, seed: draw.seed ?? opts.seed, stratify: draw.stratify ?? !opts.regression });
      out = others === 'drop' ? kept.examples.filter((r) => r.label !== HIDDEN_LABEL) : kept.examples;
      opts.logger.info(`data '${opts.name}': ${describeKeptLabels(kept.report, opts.labels)}` +
        `${others === 'drop' ? `; the ${(kept.examples.length - out.length).toLocaleString('en-US')} others are left out (others: drop)` : ''}`);
    } catch (error) {
      throw fromPluginError(error, `${at}.keepLabels`, keep as Record<string, unknown>);
    }
  } else {
    const hidden = out.filter((r) => r.label === HIDDEN_LABEL).length;
    if (hidden > 0) {
      opts.logger.info(`data '${opts.name}': ${(out.length - hidden).toLocaleString('en-US')} of ${out.length.toLocaleString('en-US')} ` +
        `rows keep their label (the others are hidden in the file)`);
    }
  }
  return out;
}

/**
 * Builds one dataset: reads the corpus or file, samples `limit` examples with the file's seed, keeps
 * the labels `keepLabels` asks for, and wraps them in a BatchSource (tokenized lazily by the data
 * package, ids cached after first use).
 */
export async function loadDataset(name: string, def: DatasetDef, seed: number, tokenizers: TokenizerCache,
  logger: Logger = silentLogger): Promise<LoadedDataset> {
  const at = `data.${name}`;
  if (def.type === 'synthetic') {
    const { type: _type, labelled = true, limit: _limit, keepLabels: _keep, stratify: _stratify, ...options } = def;
    const task = syntheticTask(options);
    const names = Array.from({ length: def.numClasses }, (_, i) => String(i));
    const rows = selectRows(task.inputIds.map((ids, i) => ({ ids, ...(labelled ? { label: task.labels[i] } : {}) })), def,
      { name, seed, labelled, regression: false, labels: names, logger });
    const inputIds = rows.map((r) => r.ids);
    return {
      name, def, maxLength: def.seqLength, vocabSize: def.vocabSize,
      source: arraySource(labelled ? { inputIds, labels: rows.map((r) => r.label!) } : { inputIds }),
      ...(labelled ? { labels: names } : {}),
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
        onBadRow: def.onBadRow, labels: def.labels, hiddenLabels: def.hiddenLabels ?? def.keepLabels !== undefined, logger,
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
  const labelled = examples.length > 0 && examples.every((e) => e.label !== undefined);
  examples = selectRows(examples, def, { name, seed, labelled, regression, labels, logger });
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
