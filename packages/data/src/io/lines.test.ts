import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { DEFAULT_MAX_LINE_LENGTH, readLines, textChunks } from './lines.js';

let dir: string;
beforeAll(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'data-lines-')); });
afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }); });

const collect = async <T>(it: AsyncIterable<T>) => { const out: T[] = []; for await (const x of it) out.push(x); return out; };
async function* bytes(...pieces: (string | number[])[]) {
  for (const p of pieces) yield typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p);
}

describe('readLines', () => {
  it('splits LF and CRLF, keeps a last line without a break, numbers lines from 1, drops a BOM', async () => {
    const file = path.join(dir, 'a.txt');
    await fs.writeFile(file, '\uFEFFone\r\ntwo\n\nfour');
    expect(await collect(readLines(file))).toEqual([
      { text: 'one', line: 1 }, { text: 'two', line: 2 }, { text: '', line: 3 }, { text: 'four', line: 4 },
    ]);
    await fs.writeFile(file, 'x\n');
    expect(await collect(readLines(file))).toEqual([{ text: 'x', line: 1 }]);
    await fs.writeFile(file, '');
    expect(await collect(readLines(file))).toEqual([]);
  });

  it('decodes UTF-8 and CRLF split across chunk boundaries', async () => {
    const euro = [...new TextEncoder().encode('€')]; // 3 bytes
    const lines = await collect(readLines(bytes('a', [euro[0]], [euro[1], euro[2], 0x0d], '\nb\r', '\n', [0xf0, 0x9f], [0x90, 0xb3])));
    expect(lines.map((l) => l.text)).toEqual(['a€', 'b', '🐳']);
  });

  it('gives the same lines whatever the chunk size', async () => {
    const file = path.join(dir, 'mixed.txt');
    const text = Array.from({ length: 60 }, (_, i) => `${i} ${'é€🐳'.repeat(i % 7)}${i % 3 ? '\r' : ''}`).join('\n');
    await fs.writeFile(file, text);
    const expected = text.split('\n').map((l) => l.replace(/\r$/, ''));
    for (const highWaterMark of [1, 2, 3, 7, 64, 65536]) {
      expect((await collect(readLines(file, { highWaterMark }))).map((l) => l.text)).toEqual(expected);
    }
  });

  it('streams a generated file: the first lines arrive after one chunk, not the whole file', async () => {
    const file = path.join(dir, 'big.jsonl');
    const rows = 200_000;
    const handle = await fs.open(file, 'w');
    for (let start = 0; start < rows; start += 10_000) {
      await handle.write(Array.from({ length: 10_000 }, (_, i) => `{"text":"row ${start + i}","label":"${(start + i) % 3}"}\n`).join(''));
    }
    await handle.close();
    const size = (await fs.stat(file)).size;
    expect(size).toBeGreaterThan(6_000_000);

    let delivered = 0;
    async function* counted() {
      for await (const chunk of createReadStream(file, { highWaterMark: 65536 })) { delivered += chunk.length; yield chunk as Buffer; }
    }
    let first: number | undefined;
    let count = 0;
    let last = '';
    for await (const { text, line } of readLines(counted())) {
      first ??= delivered;
      count = line;
      last = text;
    }
    expect(first).toBeLessThanOrEqual(65536);
    expect(count).toBe(rows);
    expect(last).toBe(`{"text":"row ${rows - 1}","label":"${(rows - 1) % 3}"}`);
    expect(delivered).toBe(size);
  });

  it('reads lazily: an endless stream can be read up to a point', async () => {
    let produced = 0;
    async function* endless() { for (;;) { produced++; yield `line ${produced}\n`; } }
    const seen: string[] = [];
    for await (const { text } of readLines(endless())) { seen.push(text); if (seen.length === 1000) break; }
    expect(seen.at(-1)).toBe('line 1000');
    expect(produced).toBeLessThan(1010);
  });

  it('closes the file when the loop stops early', async () => {
    const file = path.join(dir, 'close.txt');
    await fs.writeFile(file, 'a\nb\nc\n');
    for await (const _ of readLines(file)) break;
    // The file can be removed and read again: no handle is left dangling in the generator.
    expect((await collect(textChunks(file))).join('')).toBe('a\nb\nc\n');
  });

  it('is linear in the length of a line: 2 MB and 8 MB single lines read in 4 KiB chunks', async () => {
    // Before, every chunk re-joined and re-searched the whole line so far: 8 MB in 4 KiB chunks took ~30 s.
    for (const mb of [2, 8]) {
      const file = path.join(dir, `long-${mb}.jsonl`);
      await fs.writeFile(file, `{"text":"${'a'.repeat(mb * 1_000_000)}"}\r\n{"text":"b"}\n`);
      const start = performance.now();
      const lines = await collect(readLines(file, { highWaterMark: 4096 }));
      const seconds = (performance.now() - start) / 1000;
      expect(lines.map((l) => [l.line, l.text.length])).toEqual([[1, mb * 1_000_000 + 11], [2, 12]]);
      expect(seconds).toBeLessThan(5);
    }
  });

  it('stops at a line longer than maxLineLength, naming the file and line, wherever the chunks break', async () => {
    const file = path.join(dir, 'limit.txt');
    await fs.writeFile(file, `short\r\n${'x'.repeat(100)}\r\n${'y'.repeat(101)}\nafter\n`);
    for (const highWaterMark of [1, 7, 64, 65536]) {
      const seen: string[] = [];
      const error = await (async () => { for await (const l of readLines(file, { maxLineLength: 100, highWaterMark })) seen.push(l.text); })()
        .catch((e) => e);
      expect(error).toBeInstanceOf(DistilleryError);
      expect(error.code).toBe('data');
      expect(error.message).toBe(`${file}:3: line longer than 100 characters (option 'maxLineLength'); the file may be damaged, or raise the limit`);
      // Up to the limit (a CR before the break not counted) lines are read.
      expect(seen).toEqual(['short', 'x'.repeat(100)]);
    }
    const last = path.join(dir, 'limit-last.txt');
    await fs.writeFile(last, `a\n${'z'.repeat(101)}`);
    await expect(collect(readLines(last, { maxLineLength: 100, highWaterMark: 16 }))).rejects.toThrow(/limit-last\.txt:2: line longer than 100/);
    async function* stream() { yield 'ok\n'; yield 'w'.repeat(60); yield 'w'.repeat(60); }
    await expect(collect(readLines(stream(), { maxLineLength: 100, name: 'upload' }))).rejects.toThrow(/^upload:2: line longer/);
    await expect(collect(readLines(stream(), { maxLineLength: 100 }))).rejects.toThrow(/^<stream>:2: line longer/);
    await expect(collect(readLines(stream(), { maxLineLength: 0 }))).rejects.toThrow(/'maxLineLength' must be a positive integer/);
    expect(DEFAULT_MAX_LINE_LENGTH).toBe(16 * 1024 * 1024);
  });
});
