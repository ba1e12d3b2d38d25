import { createReadStream } from 'node:fs';
import { DistilleryError } from '@distillery/core';

/** A file path, or a stream of text or UTF-8 bytes (e.g. `process.stdin`, a Readable, a generator). */
export type TextSource = string | AsyncIterable<string | Uint8Array>;

/** The longest line (record) read by default: 16 MiB of characters, far above any text a model reads. */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024;

/** Options of streaming reads. */
export interface StreamOptions {
  /** Bytes read from a file at a time. @default 65536 */
  highWaterMark?: number;
  /**
   * The longest line (JSONL) or record (CSV/TSV, where a quoted field may span lines), in characters;
   * a longer one stops the read with an error naming the file and line, before it can exhaust memory
   * (or V8's ~512 Mi-character string limit). @default 16777216 (16 Mi)
   */
  maxLineLength?: number;
  /** A name for errors when the source is a stream. @default the path, or '<stream>' */
  name?: string;
}

/** One line of text without its line break, and its 1-based number. */
export interface Line {
  text: string;
  line: number;
}

/** How a source is named in reports and errors: the path, or '<stream>'. */
export const sourceName = (source: TextSource): string => (typeof source === 'string' ? source : '<stream>');

/**
 * Decoded text of a file or stream, chunk by chunk: nothing is read ahead of the consumer, so files
 * larger than memory can be read. A leading byte-order mark is dropped; UTF-8 sequences split across
 * chunks are decoded whole.
 */
export async function* textChunks(source: TextSource, { highWaterMark = 65536 }: StreamOptions = {}): AsyncGenerator<string> {
  const input: AsyncIterable<string | Uint8Array> = typeof source === 'string'
    ? createReadStream(source, { highWaterMark })
    : source;
  const decoder = new TextDecoder('utf-8');
  let first = true;
  for await (const piece of input) {
    let text = typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    if (text.length > 0) yield text;
  }
  const tail = decoder.decode();
  if (tail.length > 0) yield tail;
}

/** Checks the maxLineLength option; returns it or the default. */
export function lineLimit({ maxLineLength = DEFAULT_MAX_LINE_LENGTH }: StreamOptions): number {
  if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) {
    throw new DistilleryError(`option 'maxLineLength' must be a positive integer (characters), got ${JSON.stringify(maxLineLength)}`, 'config');
  }
  return maxLineLength;
}

/** The error for a line or record past maxLineLength. */
export function lineTooLong(name: string, line: number, limit: number, what = 'line',
  hint = 'the file may be damaged, or raise the limit'): DistilleryError {
  return new DistilleryError(`${name}:${line}: ${what} longer than ${limit.toLocaleString('en-US')} characters ` +
    `(option 'maxLineLength'); ${hint}`, 'data');
}

/**
 * The lines of a file or stream, lazily (LF or CRLF breaks; a last line without a break is kept).
 * Breaking out of the loop closes the file. Linear in the input however long a line is: each chunk is
 * searched once, and the pieces of a line spanning chunks are joined once, at its end.
 */
export async function* readLines(source: TextSource, options: StreamOptions = {}): AsyncGenerator<Line> {
  const limit = lineLimit(options);
  const name = options.name ?? sourceName(source);
  // The start of the current line, from earlier chunks.
  let pending: string[] = [];
  let pendingLength = 0;
  let line = 0;
  const take = (last: string): string => {
    let text = pending.length === 0 ? last : pending.join('') + last;
    pending = [];
    pendingLength = 0;
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    return text;
  };
  for await (const chunk of textChunks(source, options)) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      // + 1: a CR before the break is not counted.
      if (pendingLength + nl - start > limit + 1) throw lineTooLong(name, line + 1, limit);
      const text = take(chunk.slice(start, nl));
      if (text.length > limit) throw lineTooLong(name, line + 1, limit);
      yield { text, line: ++line };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(start === 0 ? chunk : chunk.slice(start));
      pendingLength += chunk.length - start;
      if (pendingLength > limit + 1) throw lineTooLong(name, line + 1, limit);
    }
  }
  if (pendingLength > 0) {
    const text = take('');
    if (text.length > limit) throw lineTooLong(name, line + 1, limit);
    yield { text, line: ++line };
  }
}
