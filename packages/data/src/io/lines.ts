import { createReadStream } from 'node:fs';

/** A file path, or a stream of text or UTF-8 bytes (e.g. `process.stdin`, a Readable, a generator). */
export type TextSource = string | AsyncIterable<string | Uint8Array>;

/** Options of streaming reads. */
export interface StreamOptions {
  /** Bytes read from a file at a time. @default 65536 */
  highWaterMark?: number;
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

/**
 * The lines of a file or stream, lazily (LF or CRLF breaks; a last line without a break is kept).
 * Breaking out of the loop closes the file.
 */
export async function* readLines(source: TextSource, options: StreamOptions = {}): AsyncGenerator<Line> {
  let rest = '';
  let line = 0;
  for await (const chunk of textChunks(source, options)) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield { text: text.slice(start, end), line: ++line };
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield { text: rest.endsWith('\r') ? rest.slice(0, -1) : rest, line: ++line };
}
