import { describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { DelimitedParser, parseDelimited, readDelimited } from './delimited.js';

const fields = (text: string, format = {}) => parseDelimited(text, format).map((r) => r.fields);

describe('parseDelimited (RFC 4180)', () => {
  it('reads plain, quoted and empty fields', () => {
    expect(fields('a,b,c\n1,,3\n')).toEqual([['a', 'b', 'c'], ['1', '', '3']]);
    expect(fields('"a,b","say ""hi""",""\n')).toEqual([['a,b', 'say "hi"', '']]);
    expect(fields('x,\n,y')).toEqual([['x', ''], ['', 'y']]);
  });

  it('keeps line breaks inside quotes and gives each record the line it starts on', () => {
    const records = parseDelimited('id,text\n1,"two\nlines"\n2,"three\r\nmore\nlines"\n3,end\n');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['id', 'text']], [2, ['1', 'two\nlines']], [4, ['2', 'three\r\nmore\nlines']], [7, ['3', 'end']],
    ]);
  });

  it('accepts CRLF records, a missing final break, and marks blank lines', () => {
    const records = parseDelimited('a,b\r\n\r\n1,2\r\n\n"",x\r\n3,4');
    expect(records.map((r) => [r.line, r.fields, r.blank ?? false])).toEqual([
      [1, ['a', 'b'], false], [2, [''], true], [3, ['1', '2'], false], [4, [''], true], [5, ['', 'x'], false], [6, ['3', '4'], false],
    ]);
    expect(parseDelimited('""\n')[0].blank).toBeUndefined();
  });

  it('keeps a quote inside an unquoted field as text (like Python csv)', () => {
    expect(fields('5 " tall,x\n')).toEqual([['5 " tall', 'x']]);
  });

  it('reports text after a closing quote, and an unterminated quote, with the field', () => {
    const [bad, next] = parseDelimited('"ab"c,d\ne,f\n');
    expect(bad.error).toEqual({ reason: 'text after the closing quote of a quoted field', field: 1 });
    expect(bad.fields).toEqual(['abc', 'd']);
    expect(next).toEqual({ fields: ['e', 'f'], line: 2 });
    const records = parseDelimited('a,b\n1,"never closed\n2,3\n');
    expect(records[1].line).toBe(2);
    expect(records[1].error?.reason).toMatch(/unterminated quoted field \(opened on line 2/);
    expect(records[1].error?.field).toBe(2);
  });

  it('reads TSV with quotes as ordinary text (GLUE)', () => {
    expect(fields('sentence\tlabel\nhe said "no\tway\n"quoted"\t1\n', { delimiter: '\t', quote: false }))
      .toEqual([['sentence', 'label'], ['he said "no', 'way'], ['"quoted"', '1']]);
  });

  it('gives the same records however the text is chunked', () => {
    const texts = [
      'a,b,c\r\n"x\r\ny","q""q",\n\n1,2,3',
      '"",""\n"a""",b\r\n',
      'h1;h2\n"semi;colon";2\n',
    ];
    for (const text of texts) {
      const format = text.startsWith('h1') ? { delimiter: ';' } : {};
      const whole = parseDelimited(text, format);
      for (const size of [1, 2, 3, 5]) {
        const parser = new DelimitedParser(format);
        const records = [];
        for (let i = 0; i < text.length; i += size) records.push(...parser.push(text.slice(i, i + size)));
        records.push(...parser.end());
        expect(records).toEqual(whole);
      }
    }
  });

  it('streams records from an async source', async () => {
    async function* chunks() { yield 'a,"b\n'; yield 'c"\n1'; yield ',2\n'; }
    const out = [];
    for await (const r of readDelimited(chunks())) out.push(r);
    expect(out).toEqual([{ fields: ['a', 'b\nc'], line: 1 }, { fields: ['1', '2'], line: 3 }]);
  });

  it('rejects unusable delimiters and quotes', () => {
    expect(() => new DelimitedParser({ delimiter: ',,' })).toThrow(/delimiter must be one character/);
    expect(() => new DelimitedParser({ delimiter: '\n' })).toThrow(/delimiter/);
    expect(() => new DelimitedParser({ quote: ',' })).toThrow(/quote must be one character other than the delimiter/);
  });

  it('stops at a record longer than maxLineLength, naming the line it starts on, however the text is chunked', () => {
    const text = `a,b\n"${'q'.repeat(50)}\n${'q'.repeat(45)}",1\n${'u'.repeat(101)}\n`;
    for (const size of [1, 3, 64, text.length]) {
      const parser = new DelimitedParser({ maxLineLength: 100, name: 'f.csv' });
      const records = [];
      const error = (() => {
        try { for (let i = 0; i < text.length; i += size) for (const r of parser.push(text.slice(i, i + size))) records.push(r); } catch (e) { return e; }
      })() as DistilleryError;
      expect(error).toBeInstanceOf(DistilleryError);
      expect(error.message).toBe(`f.csv:4: record longer than 100 characters (option 'maxLineLength'); the file may be damaged, or raise the limit`);
      // The 2-line quoted record is exactly 100 characters with its delimiter and field: it is read.
      expect(records.map((r) => r.line)).toEqual([1, 2]);
    }
    expect(() => parseDelimited(`x\n"never closed ${'v'.repeat(200)}`, { maxLineLength: 100 }))
      .toThrow(/^delimited text:2: record longer than 100 characters .*inside a quoted field not closed since \(is a closing quote missing\?\)/);
    expect(() => parseDelimited(`${','.repeat(150)}\n`, { maxLineLength: 100 })).toThrow(/:1: record longer than 100/);
    expect(() => new DelimitedParser({ maxLineLength: 1.5 })).toThrow(/'maxLineLength' must be a positive integer/);
  });

  it('names the source in a stream that passes the limit', async () => {
    async function* chunks() { yield 'a\n'; for (let i = 0; i < 10; i++) yield 'b'.repeat(20); }
    const read = async (options = {}) => { for await (const _ of readDelimited(chunks(), { maxLineLength: 100, ...options })); };
    await expect(read()).rejects.toThrow(/^<stream>:2: record longer than 100/);
    await expect(read({ name: 'train.csv' })).rejects.toThrow(/^train\.csv:2: record longer than 100/);
  });
});
