import { DistilleryError } from '@distillery/core';
import type { RowTracker } from '../bad-rows.js';
import { readDelimited, type DelimitedFormat } from '../io/delimited.js';
import { readLines, type TextSource } from '../io/lines.js';
import type { ColumnRef, Columns, ReadOptions, TextFormat } from '../readers.js';

/** A row as read, before its label is mapped to an id. */
export interface RawRow {
  text: string;
  textPair?: string;
  /** The label as written (a class name, or a number for regression); absent when hidden or unlabelled. */
  label?: string | number;
  /** The record has the label field (visible or hidden). */
  hasLabel: boolean;
  /** The label field is null (JSONL) or empty (CSV/TSV) and the read allows hidden labels. */
  hidden?: boolean;
  /** How the label column is named in reports. */
  labelColumn?: string;
  line: number;
}

/** What the caller of rows() knows beyond ReadOptions. */
export interface RowOptions {
  /** A label list was given: the file is labelled, so every record must have the label column. */
  expectLabels?: boolean;
}

const TEXT_CANDIDATES = ['text', 'text_a', 'sentence', 'sentence1'];
const PAIR_CANDIDATES = ['text_b', 'sentence2'];
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function inferFormat(source: TextSource, format: TextFormat | undefined): TextFormat {
  if (format !== undefined) {
    if (!['jsonl', 'csv', 'tsv'].includes(format)) {
      throw new DistilleryError(`format must be 'jsonl', 'csv' or 'tsv', got ${JSON.stringify(format)}`, 'config');
    }
    return format;
  }
  if (typeof source !== 'string') throw new DistilleryError(`reading a stream needs option 'format' ('jsonl', 'csv' or 'tsv')`, 'config');
  const lower = source.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv')) return 'tsv';
  throw new DistilleryError(`${source}: cannot tell the format from the extension; pass format 'jsonl', 'csv' or 'tsv'`, 'config');
}

/** Resolved column positions (delimited) or keys (JSONL). */
interface Resolved<K> { text: K; textPair?: K; label?: K }

function resolveColumns<K extends string | number>(
  names: readonly string[] | undefined, columns: Columns, keyOf: (ref: ColumnRef, role: string) => K, where: string,
): Resolved<K> {
  const pick = (given: ColumnRef | null | undefined, candidates: string[], role: string): K | undefined => {
    if (given === null) return undefined;
    if (given !== undefined) return keyOf(given, role);
    const found = candidates.find((c) => names?.includes(c));
    return found === undefined ? undefined : keyOf(found, role);
  };
  const text = pick(columns.text, TEXT_CANDIDATES, 'text');
  if (text === undefined) {
    throw new DistilleryError(`${where}: no text column (looked for ${TEXT_CANDIDATES.map((c) => `'${c}'`).join(', ')}` +
      `${names ? ` among ${names.map((n) => `'${n}'`).join(', ')}` : ''}); set columns.text`, 'config');
  }
  return { text, textPair: pick(columns.textPair, PAIR_CANDIDATES, 'textPair'), label: pick(columns.label, ['label'], 'label') };
}

const describeValue = (v: unknown) => (v === undefined ? 'missing' : `${JSON.stringify(v)?.slice(0, 60)}`);

/** Checks and converts one record's fields; reports a bad row and returns undefined when it is unusable. */
function toRow(
  get: (key: string | number) => unknown, cols: Resolved<string | number>, colName: (key: string | number) => string,
  line: number, tracker: RowTracker, options: ReadOptions,
): RawRow | undefined {
  const regression = options.task === 'regression';
  const text = get(cols.text);
  if (typeof text !== 'string' || text.trim() === '') {
    tracker.bad(line, typeof text === 'string' ? 'empty text' : `text is ${describeValue(text)}, expected a string`, colName(cols.text));
    return undefined;
  }
  const row: RawRow = { text, line, hasLabel: cols.label !== undefined };
  if (cols.textPair !== undefined) {
    const pair = get(cols.textPair);
    if (typeof pair !== 'string' || pair.trim() === '') {
      tracker.bad(line, typeof pair === 'string' ? 'empty second text' : `second text is ${describeValue(pair)}, expected a string`, colName(cols.textPair));
      return undefined;
    }
    row.textPair = pair;
  }
  if (cols.label !== undefined) {
    const raw = get(cols.label);
    const empty = raw === null || (typeof raw === 'string' && raw.trim() === '');
    if (empty && options.hiddenLabels) {
      row.hidden = true;
      return row;
    }
    if (raw === undefined || empty) {
      // A labelled file needs the label on every record: a row without one is never read as unlabelled.
      const hint = raw === undefined ? '' : ` (${raw === null ? 'null' : 'empty'}; read with hiddenLabels: true to take it as a hidden label)`;
      tracker.bad(line, `missing label${hint}`, colName(cols.label));
      return undefined;
    }
    if (regression) {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && NUMBER.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(value)) {
        tracker.bad(line, `regression target ${describeValue(raw)} is not a finite number`, colName(cols.label));
        return undefined;
      }
      row.label = value;
    } else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
      row.label = String(raw);
      row.labelColumn = colName(cols.label);
    } else {
      tracker.bad(line, `label ${describeValue(raw)} is not a string, number or boolean`, colName(cols.label));
      return undefined;
    }
  }
  return row;
}

/**
 * JSONL: the text key is the configured one, or the first candidate the first record has. The label
 * and second-text keys are configured (`columns`, or `label` when a label list is given: then every
 * record needs it) or, when not, taken per record where present; readers then check that every
 * record agrees (checkRows), so a key missing from the first record never drops the column silently.
 */
async function* jsonlRows(source: TextSource, options: ReadOptions & RowOptions, tracker: RowTracker, file: string): AsyncGenerator<RawRow> {
  const columns = options.columns ?? {};
  const keyOf = (ref: ColumnRef, role: string) => {
    if (typeof ref !== 'string') throw new DistilleryError(`${file}: columns.${role} must be a key name for JSONL, got ${ref}`, 'config');
    return ref;
  };
  // undefined: found per record; null: none.
  const pairKey = columns.textPair === null ? null : columns.textPair === undefined ? undefined : keyOf(columns.textPair, 'textPair');
  const labelKey = columns.label === null ? null : columns.label !== undefined ? keyOf(columns.label, 'label') : options.expectLabels ? 'label' : undefined;
  let textKey: string | undefined;
  for await (const { text, line } of readLines(source, { ...options, name: file })) {
    if (text.trim() === '') { tracker.report.blankLines++; continue; }
    tracker.report.rows++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const position = /position (\d+)/.exec((error as Error).message);
      tracker.bad(line, `bad JSON: ${(error as Error).message}`, position ? `${Number(position[1]) + 1}` : undefined);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      tracker.bad(line, `expected a JSON object, got ${describeValue(value)}`);
      continue;
    }
    const record = value as Record<string, unknown>;
    textKey ??= resolveColumns(Object.keys(record), { text: columns.text, textPair: null, label: null }, keyOf, `${file}:${line}`).text;
    const has = (key: string) => Object.prototype.hasOwnProperty.call(record, key);
    const cols: Resolved<string> = {
      text: textKey,
      textPair: pairKey === undefined ? PAIR_CANDIDATES.find(has) : pairKey ?? undefined,
      label: labelKey === undefined ? (has('label') ? 'label' : undefined) : labelKey ?? undefined,
    };
    const row = toRow((k) => record[k as string], cols, (k) => `'${k}'`, line, tracker, options);
    if (row) yield row;
  }
}

async function* delimitedRows(
  source: TextSource, format: 'csv' | 'tsv', options: ReadOptions & RowOptions, tracker: RowTracker, file: string,
): AsyncGenerator<RawRow> {
  const { header = true } = options;
  const delimited: DelimitedFormat = {
    delimiter: options.delimiter ?? (format === 'csv' ? ',' : '\t'),
    quote: options.quote ?? (format === 'csv' ? '"' : false),
  };
  let names: string[] | undefined;
  let cols: Resolved<number> | undefined;
  let width: number | undefined;
  const colName = (i: string | number) => (names?.[i as number] !== undefined ? `'${names[i as number]}' (field ${Number(i) + 1})` : `${Number(i) + 1}`);
  for await (const record of readDelimited(source, { ...delimited, highWaterMark: options.highWaterMark, maxLineLength: options.maxLineLength, name: file })) {
    if (record.blank) { tracker.report.blankLines++; continue; }
    if (header && names === undefined) {
      if (record.error) throw new DistilleryError(`${file}:${record.line}: the header row is malformed: ${record.error.reason}`, 'config');
      names = record.fields.map((f) => f.trim());
      width = names.length;
      continue;
    }
    tracker.report.rows++;
    cols ??= resolveColumns(names, options.columns ?? {}, (ref, role) => {
      if (typeof ref === 'number') {
        if (!Number.isInteger(ref) || ref < 0) throw new DistilleryError(`${file}: columns.${role} must be a name or a 0-based index, got ${ref}`, 'config');
        return ref;
      }
      const index = names?.indexOf(ref) ?? -1;
      if (index < 0) {
        throw new DistilleryError(names
          ? `${file}: columns.${role} '${ref}' is not in the header (${names.map((n) => `'${n}'`).join(', ')})`
          : `${file}: columns.${role} is the name '${ref}' but the file has no header (header: false); use a 0-based index`, 'config');
      }
      return index;
    }, file);
    if (options.expectLabels && cols.label === undefined) {
      throw new DistilleryError(`${file}: a label list was given but the file has no label column ` +
        `(${names ? `no 'label' in the header: ${names.map((n) => `'${n}'`).join(', ')}` : 'no header'}); set columns.label`, 'config');
    }
    width ??= record.fields.length;
    if (record.error) {
      tracker.bad(record.line, record.error.reason, record.error.field === undefined ? undefined : colName(record.error.field - 1));
      continue;
    }
    if (record.fields.length !== width) {
      tracker.bad(record.line, `${record.fields.length} fields, expected ${width} (${names ? 'as in the header' : 'as in the first row'})`);
      continue;
    }
    const row = toRow((i) => record.fields[i as number], cols, colName, record.line, tracker, options);
    if (row) yield row;
  }
}

/**
 * The rows of a JSONL, CSV or TSV file or stream, checked one by one; bad rows go to the tracker.
 * Whether all rows agree on having a label and a second text is for the reader to check (checkRows).
 */
export function rows(source: TextSource, options: ReadOptions & RowOptions, tracker: RowTracker, file: string): AsyncGenerator<RawRow> {
  const format = inferFormat(source, options.format);
  return format === 'jsonl' ? jsonlRows(source, options, tracker, file) : delimitedRows(source, format, options, tracker, file);
}

/** The columns a row may have or lack, and how a row lacking one is reported. */
const OPTIONAL_COLUMNS = [
  { has: (r: RawRow) => r.hasLabel, what: 'label', fix: 'columns.label: null reads the file as unlabelled' },
  { has: (r: RawRow) => r.textPair !== undefined, what: 'second text', fix: 'columns.textPair: null reads single texts' },
] as const;

/**
 * Rows of one file must agree on having a label and a second text: a JSONL file with `label` on some
 * records is labelled, and a record without one is a bad row (never read as unlabelled). `reference`
 * is the row the others are held to (the first, when streaming); without one, any row having the
 * column makes every row need it. Returns whether `row` is kept.
 */
export function checkRow(row: RawRow, reference: { has: boolean[]; line: number }, tracker: RowTracker): boolean {
  for (const [k, column] of OPTIONAL_COLUMNS.entries()) {
    const has = column.has(row);
    if (has === reference.has[k]) continue;
    tracker.bad(row.line, has
      ? `has a ${column.what}, but line ${reference.line} has none (every record must agree; ${column.fix})`
      : `missing ${column.what} (line ${reference.line} has one: every record of the file needs it; ${column.fix})`);
    return false;
  }
  return true;
}

/** Applies checkRow to rows read in full: a column that any row has is needed by every row. */
export function checkRows(read: readonly RawRow[], tracker: RowTracker): RawRow[] {
  const has = OPTIONAL_COLUMNS.map((c) => read.some(c.has));
  const firstWith = OPTIONAL_COLUMNS.map((c, k) => (has[k] ? read.find(c.has)!.line : 0));
  return read.filter((row) => {
    const k = OPTIONAL_COLUMNS.findIndex((c, i) => c.has(row) !== has[i]);
    return k < 0 || checkRow(row, { has, line: firstWith[k] }, tracker);
  });
}
