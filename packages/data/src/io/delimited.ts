import { DistilleryError } from '@distillery/core';
import { lineLimit, lineTooLong, sourceName, textChunks, type StreamOptions, type TextSource } from './lines.js';

/** How fields are separated and quoted. */
export interface DelimitedFormat {
  /** One character between fields. @default ',' */
  delimiter?: string;
  /**
   * The quote character (RFC 4180: a quoted field may hold delimiters, line breaks and doubled
   * quotes), or false when quotes are ordinary text, as in the GLUE TSV files. @default '"'
   */
  quote?: string | false;
}

/** Options of DelimitedParser: the format, the longest record and the name errors give. */
export type DelimitedParserOptions = DelimitedFormat & Pick<StreamOptions, 'maxLineLength' | 'name'>;

/** One record and the line it starts on; `error` is set when it is malformed. */
export interface DelimitedRecord {
  fields: string[];
  /** 1-based line where the record starts (a quoted field may span lines). */
  line: number;
  /** An empty line: not a record. */
  blank?: boolean;
  /** What is wrong with it, and in which 1-based field. */
  error?: { reason: string; field?: number };
}

const LF = 10, CR = 13;
const enum State { Start, Unquoted, Quoted, QuoteSeen, AfterQuoted }

/**
 * An incremental RFC 4180 parser: feed text in chunks of any size with push(), then end(). Quote
 * characters inside an unquoted field are kept as text (as Python's csv module does); text after a
 * closing quote and an unterminated quoted field are reported as errors of that record. A record
 * longer than `maxLineLength` characters stops the parse with an error naming its first line.
 */
export class DelimitedParser {
  private readonly delimiter: number;
  private readonly quote: number;
  private state = State.Start;
  private field = '';
  private fields: string[] = [];
  /** Whether the current record had a quoted field, so that `""` alone is a record, not a blank line. */
  private quoted = false;
  private line = 1;
  private recordLine = 1;
  private error: DelimitedRecord['error'];
  private readonly limit: number;
  private readonly name: string;
  /** Characters of the current record before the current chunk, minus the chunk index where it starts. */
  private size = 0;

  constructor({ delimiter = ',', quote = '"', ...options }: DelimitedParserOptions = {}) {
    if (delimiter.length !== 1 || delimiter === '\n' || delimiter === '\r') {
      throw new DistilleryError(`delimited: delimiter must be one character other than a line break, got ${JSON.stringify(delimiter)}`, 'config');
    }
    if (quote !== false && (typeof quote !== 'string' || quote.length !== 1 || quote === delimiter || quote === '\n')) {
      throw new DistilleryError(`delimited: quote must be one character other than the delimiter, or false; got ${JSON.stringify(quote)}`, 'config');
    }
    this.delimiter = delimiter.charCodeAt(0);
    this.quote = quote === false ? -1 : quote.charCodeAt(0);
    this.limit = lineLimit(options);
    this.name = options.name ?? 'delimited text';
  }

  /** Parses a chunk; yields the records it completes. */
  *push(chunk: string): Generator<DelimitedRecord> {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      // Checked before each step, and by the scanning states before they end a field.
      if (this.size + i > this.limit) this.tooLong();
      switch (this.state) {
        case State.Start: {
          const c = chunk.charCodeAt(i);
          if (c === this.quote) { this.state = State.Quoted; this.quoted = true; i++; }
          else if (c === this.delimiter) { this.endField(); i++; }
          else if (c === LF) { this.endField(); i++; yield this.endRecord(i); }
          else this.state = State.Unquoted;
          break;
        }
        case State.Unquoted: {
          let j = i;
          while (j < n) { const d = chunk.charCodeAt(j); if (d === this.delimiter || d === LF) break; j++; }
          if (this.size + j > this.limit) this.tooLong();
          this.field += chunk.slice(i, j);
          i = j;
          if (j < n) {
            if (chunk.charCodeAt(j) === LF) {
              if (this.field.endsWith('\r')) this.field = this.field.slice(0, -1);
              this.endField();
              i++;
              yield this.endRecord(i);
            } else {
              this.endField();
              i++;
            }
          }
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) { const d = chunk.charCodeAt(j); if (d === this.quote) break; if (d === LF) this.line++; j++; }
          if (this.size + j > this.limit) this.tooLong();
          this.field += chunk.slice(i, j);
          i = j;
          if (j < n) { this.state = State.QuoteSeen; i++; }
          break;
        }
        case State.QuoteSeen:
          if (chunk.charCodeAt(i) === this.quote) { this.field += chunk[i]; this.state = State.Quoted; i++; }
          else this.state = State.AfterQuoted;
          break;
        case State.AfterQuoted: {
          const c = chunk.charCodeAt(i);
          if (c === this.delimiter) { this.endField(); i++; }
          else if (c === LF) { this.endField(); i++; yield this.endRecord(i); }
          else if (c === CR) i++;
          else {
            this.error ??= { reason: 'text after the closing quote of a quoted field', field: this.fields.length + 1 };
            this.state = State.Unquoted;
          }
          break;
        }
      }
    }
    this.size += n;
    if (this.size > this.limit) this.tooLong();
  }

  /** Ends the input; yields the last record if the text did not end with a line break. */
  *end(): Generator<DelimitedRecord> {
    if (this.state === State.Quoted) {
      this.error ??= { reason: `unterminated quoted field (opened on line ${this.recordLine}, still open at the end of the input)`, field: this.fields.length + 1 };
    }
    if (this.state === State.Start && this.fields.length === 0 && this.field === '') return;
    if (this.state === State.Unquoted && this.field.endsWith('\r')) this.field = this.field.slice(0, -1);
    this.endField();
    yield this.endRecord(0);
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.Start;
  }

  private tooLong(): never {
    throw lineTooLong(this.name, this.recordLine, this.limit, 'record', this.state === State.Quoted
      ? `it ends inside a quoted field not closed since (is a closing quote missing?), or raise the limit` : undefined);
  }

  /** Ends the record; the next one starts at index `next` of the current chunk. */
  private endRecord(next: number): DelimitedRecord {
    const record: DelimitedRecord = { fields: this.fields, line: this.recordLine };
    if (this.fields.length === 1 && this.fields[0] === '' && !this.quoted) record.blank = true;
    if (this.error) record.error = this.error;
    this.fields = [];
    this.quoted = false;
    this.error = undefined;
    this.state = State.Start;
    this.line++;
    this.recordLine = this.line;
    this.size = -next;
    return record;
  }
}

/** Records of a delimited file or stream, read lazily. */
export async function* readDelimited(source: TextSource, format: DelimitedFormat & StreamOptions = {}): AsyncGenerator<DelimitedRecord> {
  const parser = new DelimitedParser({ ...format, name: format.name ?? sourceName(source) });
  for await (const chunk of textChunks(source, format)) yield* parser.push(chunk);
  yield* parser.end();
}

/** Parses delimited text held in memory. */
export function parseDelimited(text: string, format: DelimitedParserOptions = {}): DelimitedRecord[] {
  const parser = new DelimitedParser(format);
  return [...parser.push(text), ...parser.end()];
}
