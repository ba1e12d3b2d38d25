import { consoleLogger, DistilleryError, type Logger } from '@distillery/core';
import { RowTracker, type BadRowPolicy, type ReadReport } from './bad-rows.js';
import { sourceName, type StreamOptions, type TextSource } from './io/lines.js';
import { checkRow, checkRows, rows, type RawRow } from './internals/rows.js';
import { LabelMap } from './labels.js';
import { HIDDEN_LABEL, keepLabels, type KeepLabelsOptions, type KeptLabels } from './partial-labels.js';
import type { TextExample } from './types.js';

/** A column: its header name (JSON key), or its 0-based position in a file without a header. */
export type ColumnRef = string | number;

/** Which columns hold the text, the second text of a pair, and the label. */
export interface Columns {
  /** @default the first of 'text', 'text_a', 'sentence', 'sentence1' that the header (JSONL: the first record) has */
  text?: ColumnRef;
  /** null: not a pair task. @default the first of 'text_b', 'sentence2' present (JSONL: in any record, then needed by all), else none */
  textPair?: ColumnRef | null;
  /**
   * null: unlabelled (a transfer set). @default 'label': required on every record when a label list
   * is given; otherwise CSV/TSV take it when the header has it, and JSONL when any record has it
   * (then every record needs it)
   */
  label?: ColumnRef | null;
}

/** File formats read here. */
export type TextFormat = 'jsonl' | 'csv' | 'tsv';

/** Options of every reader. */
export interface ReadOptions extends StreamOptions {
  /** @default from the file extension (.jsonl/.ndjson, .csv, .tsv); required for streams */
  format?: TextFormat;
  columns?: Columns;
  /** CSV/TSV: the first record names the columns. @default true */
  header?: boolean;
  /** CSV/TSV field delimiter. @default ',' for csv, '\t' for tsv */
  delimiter?: string;
  /** CSV/TSV quote character, or false. @default '"' for csv, false for tsv (GLUE files are unquoted) */
  quote?: string | false;
  /** Labels are float targets (STS-B style) instead of class names. @default 'classification' */
  task?: 'classification' | 'regression';
  /**
   * A label that is null (JSONL) or empty (CSV/TSV) is a hidden label (HIDDEN_LABEL, -100: left out of
   * hard-label losses and metrics) instead of a bad row. A JSONL record without the label key is a bad
   * row all the same. @default false (true for loadTextDataset with keepLabels)
   */
  hiddenLabels?: boolean;
  /** A bad row (missing text, unknown label, wrong column count, bad JSON) fails or is skipped and counted. @default 'fail' */
  onBadRow?: BadRowPolicy;
  /** How many bad rows the report keeps (all are counted). @default 10 */
  maxReported?: number;
  /** Receives the skipped-rows warning. @default consoleLogger */
  logger?: Logger;
}

/** Options of streamExamples: ReadOptions and the label list. */
export type StreamExamplesOptions = ReadOptions & {
  /** Class names in id order; required to stream a labelled classification file; a label outside it is a bad row. */
  labels?: LabelMap | readonly string[];
};

/** Options of loadTextDataset. */
export type LoadTextOptions = StreamExamplesOptions & {
  /** Keep the labels of a seeded fraction or count of the rows and hide the others (see keepLabels). Implies hiddenLabels. */
  keepLabels?: KeepLabelsOptions;
};

/** A labelled (or unlabelled) text dataset held in memory. */
export interface TextDataset {
  examples: TextExample[];
  /** Class names ↔ ids; absent for regression and unlabelled data. */
  labels?: LabelMap;
  report: ReadReport;
  /** What `keepLabels` kept, when it was given. */
  keptLabels?: KeptLabels;
}

const toExample = (row: RawRow, label: number | undefined): TextExample => ({
  text: row.text,
  ...(row.textPair === undefined ? {} : { textPair: row.textPair }),
  ...(label === undefined ? {} : { label }),
});

function knownLabels(labels: LabelMap) {
  const list = labels.names.map((n) => JSON.stringify(n));
  return list.length > 10 ? `${list.slice(0, 10).join(', ')}, ...` : list.join(', ');
}

/**
 * Examples of a file or stream, read lazily, for sets larger than memory (transfer sets). Class
 * labels are mapped through `labels` (a label outside it is a bad row); without `labels`, a
 * labelled classification file fails, since ids cannot be fixed before the end of the file.
 * `report` fills in as the stream is read.
 */
export class ExampleStream implements AsyncIterable<TextExample> {
  readonly report: ReadReport;
  private readonly tracker: RowTracker;
  private readonly file: string;
  private readonly labels?: LabelMap;
  private used = false;

  constructor(private readonly source: TextSource, private readonly options: StreamExamplesOptions = {}) {
    this.file = options.name ?? sourceName(source);
    this.tracker = new RowTracker(this.file, options.onBadRow, options.maxReported);
    this.report = this.tracker.report;
    const { labels } = options;
    if (labels !== undefined) this.labels = labels instanceof LabelMap ? labels : new LabelMap(labels);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TextExample> {
    if (this.used) throw new DistilleryError(`${this.file}: an ExampleStream can be read once; make a new one`, 'config');
    this.used = true;
    const regression = this.options.task === 'regression';
    // Read lazily, the first row is the one every other row must agree with (label, second text).
    let reference: { has: boolean[]; line: number } | undefined;
    try {
      for await (const row of rows(this.source, { ...this.options, expectLabels: this.labels !== undefined }, this.tracker, this.file)) {
        reference ??= { has: [row.hasLabel, row.textPair !== undefined], line: row.line };
        if (!checkRow(row, reference, this.tracker)) continue;
        let label: number | undefined;
        if (row.hidden) {
          label = HIDDEN_LABEL;
        } else if (typeof row.label === 'number') {
          label = row.label;
        } else if (row.label !== undefined && !regression) {
          if (!this.labels) {
            throw new DistilleryError(`${this.file}:${row.line}: a streamed classification file needs option 'labels' ` +
              `(the label list, e.g. from LabelMap.load('labels.json')), or columns.label: null for an unlabelled file`, 'config');
          }
          label = this.labels.id(row.label);
          if (label === undefined) {
            this.tracker.bad(row.line, `unknown label ${JSON.stringify(row.label)} (known: ${knownLabels(this.labels)})`, row.labelColumn);
            continue;
          }
        }
        this.report.kept++;
        yield toExample(row, label);
      }
    } finally {
      this.tracker.finish(this.options.logger ?? consoleLogger);
    }
  }
}

/** Streams examples of a JSONL, CSV or TSV file (see ExampleStream). */
export function streamExamples(source: TextSource, options: StreamExamplesOptions = {}): ExampleStream {
  return new ExampleStream(source, options);
}

/**
 * Reads a whole JSONL, CSV or TSV file. Class labels get ids in `labels` order when given (a label
 * outside it is a bad row), else in sortLabels order of the labels seen; save `result.labels` to
 * labels.json to keep the ids stable. Without a label list, a JSONL file is labelled when any record
 * has a label, and then a record without one is a bad row. `keepLabels` then hides all labels but a
 * seeded subset (result.keptLabels says which).
 */
export async function loadTextDataset(source: TextSource, options: LoadTextOptions = {}): Promise<TextDataset> {
  const { keepLabels: keep, ...rest } = options;
  const read = { ...rest, ...(keep ? { hiddenLabels: rest.hiddenLabels ?? true } : {}) };
  const dataset = await readWhole(source, read);
  if (!keep) return dataset;
  const file = options.name ?? sourceName(source);
  if (dataset.examples.some((e) => e.label === undefined)) {
    throw new DistilleryError(`${file}: keepLabels needs a labelled file, but it has no label column ` +
      `(columns.label, or a 'label' column/key)`, 'config');
  }
  const kept = keepLabels(dataset.examples, keep);
  return { ...dataset, examples: kept.examples, keptLabels: kept.report };
}

async function readWhole(source: TextSource, options: StreamExamplesOptions): Promise<TextDataset> {
  if (options.labels !== undefined) {
    const stream = new ExampleStream(source, options);
    const examples: TextExample[] = [];
    for await (const example of stream) examples.push(example);
    const labels = options.labels instanceof LabelMap ? options.labels : new LabelMap(options.labels);
    return { examples, ...(options.task !== 'regression' ? { labels } : {}), report: stream.report };
  }
  const file = options.name ?? sourceName(source);
  const tracker = new RowTracker(file, options.onBadRow, options.maxReported);
  let read: RawRow[] = [];
  try {
    for await (const row of rows(source, options, tracker, file)) read.push(row);
    read = checkRows(read, tracker);
  } finally {
    tracker.finish(options.logger ?? consoleLogger);
  }
  const named = read.filter((r) => typeof r.label === 'string').map((r) => r.label as string);
  if (named.length === 0 && read.some((r) => r.hidden) && options.task !== 'regression') {
    throw new DistilleryError(`${file}: every label is hidden, so the class ids cannot be known; give the label list (option 'labels')`, 'config');
  }
  const labels = named.length > 0 ? LabelMap.fromValues(named) : undefined;
  const examples = read.map((r) => toExample(r, r.hidden ? HIDDEN_LABEL
    : typeof r.label === 'string' ? labels!.id(r.label) : r.label));
  tracker.report.kept = examples.length;
  return { examples, ...(labels ? { labels } : {}), report: tracker.report };
}
