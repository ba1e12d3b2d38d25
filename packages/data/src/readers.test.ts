import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistilleryError, silentLogger, type Logger } from '@distillery/core';
import { BadRowError } from './bad-rows.js';
import { LabelMap } from './labels.js';
import { loadTextDataset, streamExamples } from './readers.js';

let dir: string;
beforeAll(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'data-readers-')); });
afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }); });

const write = async (name: string, text: string) => { const file = path.join(dir, name); await fs.writeFile(file, text); return file; };
const capture = () => { const warnings: string[] = []; const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m) }; return { logger, warnings }; };
const quiet = { logger: silentLogger };

describe('loadTextDataset: JSONL', () => {
  it('reads text/label rows and maps labels to sorted ids', async () => {
    const file = await write('a.jsonl', '{"text":"good film","label":"pos"}\n\n{"text":"bad film","label":"neg"}\n{"text":"fine","label":"pos"}');
    const ds = await loadTextDataset(file, quiet);
    expect(ds.labels!.names).toEqual(['neg', 'pos']);
    expect(ds.examples).toEqual([{ text: 'good film', label: 1 }, { text: 'bad film', label: 0 }, { text: 'fine', label: 1 }]);
    expect(ds.report).toMatchObject({ rows: 3, kept: 3, skipped: 0, blankLines: 1, badRows: [] });
  });

  it('reads pairs from text_a/text_b, numeric labels, and a given label order', async () => {
    const file = await write('pairs.jsonl', '{"text_a":"a man sleeps","text_b":"nobody sleeps","label":2}\n{"text_a":"x","text_b":"y","label":0}\n');
    const ds = await loadTextDataset(file, { ...quiet, labels: ['0', '1', '2'] });
    expect(ds.examples).toEqual([{ text: 'a man sleeps', textPair: 'nobody sleeps', label: 2 }, { text: 'x', textPair: 'y', label: 0 }]);
    const byName = await loadTextDataset(file, quiet);
    expect(byName.labels!.names).toEqual(['0', '2']);
  });

  it('fails on the first bad row by default, with file, line and column', async () => {
    const file = await write('bad.jsonl', '{"text":"ok","label":"a"}\n{"text":"broken", label:"a"}\n');
    const error = await loadTextDataset(file, quiet).catch((e) => e);
    expect(error).toBeInstanceOf(BadRowError);
    expect(error.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: column 19: bad JSON`));
    expect(error.row).toMatchObject({ file, line: 2, column: '19' });
  });

  it("skips bad rows with 'skip', counting every one and reporting the first few", async () => {
    const lines = [
      '{"text":"fine","label":"a"}',
      '{"text":"","label":"a"}',              // empty text
      '{"label":"b"}',                        // missing text
      '[1,2]',                                // not an object
      '{"text":"no label"}',                  // missing label
      '{"text":"odd label","label":{"x":1}}', // label not a scalar
      'not json',
      '{"text":"fine too","label":"b"}',
    ];
    const file = await write('skip.jsonl', lines.join('\n'));
    const { logger, warnings } = capture();
    const ds = await loadTextDataset(file, { onBadRow: 'skip', maxReported: 3, logger });
    expect(ds.examples).toEqual([{ text: 'fine', label: 0 }, { text: 'fine too', label: 1 }]);
    expect(ds.report.rows).toBe(8);
    expect(ds.report.kept + ds.report.skipped).toBe(ds.report.rows);
    expect(ds.report.skipped).toBe(6);
    expect(ds.report.badRows).toEqual([
      { file, line: 2, column: "'text'", reason: 'empty text' },
      { file, line: 3, column: "'text'", reason: 'text is missing, expected a string' },
      { file, line: 4, reason: 'expected a JSON object, got [1,2]' },
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/skip.jsonl: skipped 6 bad rows of 8: .*:2: column 'text': empty text; .*\(and 3 more\)$/);
  });

  it('treats a label outside the given list as a bad row', async () => {
    const file = await write('unknown.jsonl', '{"text":"a","label":"pos"}\n{"text":"b","label":"meh"}\n');
    await expect(loadTextDataset(file, { ...quiet, labels: ['neg', 'pos'] }))
      .rejects.toThrow(/unknown.jsonl:2: column 'label': unknown label "meh" \(known: "neg", "pos"\)/);
    const ds = await loadTextDataset(file, { ...quiet, labels: ['neg', 'pos'], onBadRow: 'skip' });
    expect(ds.examples).toEqual([{ text: 'a', label: 1 }]);
    expect(ds.report.skipped).toBe(1);
  });

  it('reads regression targets as floats and rejects non-numbers', async () => {
    const file = await write('sts.jsonl', '{"text_a":"a","text_b":"b","label":3.8}\n{"text_a":"c","text_b":"d","label":"0.5"}\n{"text_a":"e","text_b":"f","label":"high"}\n');
    const ds = await loadTextDataset(file, { ...quiet, task: 'regression', onBadRow: 'skip' });
    expect(ds.examples.map((e) => e.label)).toEqual([3.8, 0.5]);
    expect(ds.labels).toBeUndefined();
    expect(ds.report.badRows[0].reason).toMatch(/regression target "high" is not a finite number/);
  });

  it('accepts only the known bad-row policies', async () => {
    const file = await write('policy.jsonl', '{"text":"a"}\n');
    await expect(loadTextDataset(file, { ...quiet, onBadRow: 'ignore' as never })).rejects.toThrow(/onBadRow must be 'skip' or 'fail', got "ignore"/);
  });

  it('reads an unlabelled file, and fails clearly without a text column', async () => {
    const file = await write('plain.jsonl', '{"sentence":"one"}\n{"sentence":"two"}\n');
    const ds = await loadTextDataset(file, quiet);
    expect(ds.examples).toEqual([{ text: 'one' }, { text: 'two' }]);
    const other = await write('other.jsonl', '{"body":"one"}\n');
    await expect(loadTextDataset(other, quiet)).rejects.toThrow(/other.jsonl:1: no text column \(looked for 'text', 'text_a', 'sentence', 'sentence1' among 'body'\); set columns.text/);
    expect((await loadTextDataset(other, { ...quiet, columns: { text: 'body' } })).examples).toEqual([{ text: 'one' }]);
  });
});

describe('loadTextDataset: columns are decided by the config or the whole file, never by the first record alone', () => {
  // The bug: the first record has no label, so the whole file was read as unlabelled and the labels further down vanished.
  const lines = ['{"text":"no label here"}', '{"text":"good","label":"spam"}', '{"text":"fine","label":"ham"}'];

  it('with a label list, a record without its label is a bad row at its line (fail), or skipped and counted (skip)', async () => {
    const file = await write('first-unlabelled.jsonl', lines.join('\n'));
    const error = await loadTextDataset(file, { ...quiet, labels: ['ham', 'spam'] }).catch((e) => e);
    expect(error).toBeInstanceOf(BadRowError);
    expect(error.message).toBe(`${file}:1: column 'label': missing label`);
    const { logger, warnings } = capture();
    const ds = await loadTextDataset(file, { logger, labels: ['ham', 'spam'], onBadRow: 'skip' });
    expect(ds.examples).toEqual([{ text: 'good', label: 1 }, { text: 'fine', label: 0 }]);
    expect(ds.report).toMatchObject({ rows: 3, kept: 2, skipped: 1 });
    expect(warnings[0]).toMatch(/skipped 1 bad row of 3: .*first-unlabelled.jsonl:1: column 'label': missing label$/);
  });

  it('without a label list, a label anywhere makes the file labelled: records without one are bad rows', async () => {
    const file = await write('first-unlabelled-2.jsonl', lines.join('\n'));
    await expect(loadTextDataset(file, quiet)).rejects.toThrow(`${file}:1: missing label (line 2 has one: every record of the file ` +
      'needs it; columns.label: null reads the file as unlabelled)');
    const ds = await loadTextDataset(file, { ...quiet, onBadRow: 'skip' });
    expect(ds.labels!.names).toEqual(['ham', 'spam']);
    expect(ds.examples).toEqual([{ text: 'good', label: 1 }, { text: 'fine', label: 0 }]);
    expect(ds.report).toMatchObject({ rows: 3, kept: 2, skipped: 1 });
    // Saying the file is unlabelled reads every record, labels ignored.
    expect((await loadTextDataset(file, { ...quiet, columns: { label: null } })).examples).toEqual(
      [{ text: 'no label here' }, { text: 'good' }, { text: 'fine' }]);
  });

  it('a second text missing from the first record is not dropped for the others', async () => {
    const file = await write('pairs-late.jsonl', '{"text_a":"x","label":"a"}\n{"text_a":"y","text_b":"z","label":"b"}\n');
    await expect(loadTextDataset(file, quiet)).rejects.toThrow(/pairs-late.jsonl:1: missing second text \(line 2 has one/);
    expect((await loadTextDataset(file, { ...quiet, columns: { textPair: null } })).examples).toEqual([{ text: 'x', label: 0 }, { text: 'y', label: 1 }]);
  });

  it('a streamed file holds every record to its first one', async () => {
    const file = await write('stream-late.jsonl', '{"text":"a"}\n{"text":"b","label":0.5}\n{"text":"c"}\n');
    const stream = streamExamples(file, { ...quiet, task: 'regression', onBadRow: 'skip' });
    const seen = [];
    for await (const e of stream) seen.push(e);
    expect(seen).toEqual([{ text: 'a' }, { text: 'c' }]);
    expect(stream.report.badRows).toEqual([{ file, line: 2, reason: 'has a label, but line 1 has none (every record must agree; ' +
      'columns.label: null reads the file as unlabelled)' }]);
  });

  it('a CSV without a label column fails when a label list is given', async () => {
    const file = await write('nolabel.csv', 'text,stars\na,1\n');
    await expect(loadTextDataset(file, { ...quiet, labels: ['1', '5'] })).rejects.toThrow(
      `${file}: a label list was given but the file has no label column (no 'label' in the header: 'text', 'stars'); set columns.label`);
  });
});

describe('loadTextDataset: hidden labels (partly labelled files) and keepLabels', () => {
  it('hiddenLabels: a null JSONL label is hidden (-100); a missing label key is still a bad row', async () => {
    const file = await write('partly.jsonl', '{"text":"a","label":"spam"}\n{"text":"b","label":null}\n{"text":"c","label":"ham"}\n');
    await expect(loadTextDataset(file, quiet)).rejects.toThrow(`${file}:2: column 'label': missing label (null; read with hiddenLabels: true to take it as a hidden label)`);
    const ds = await loadTextDataset(file, { ...quiet, hiddenLabels: true });
    expect(ds.labels!.names).toEqual(['ham', 'spam']);
    expect(ds.examples).toEqual([{ text: 'a', label: 1 }, { text: 'b', label: -100 }, { text: 'c', label: 0 }]);
    const listed = await loadTextDataset(file, { ...quiet, hiddenLabels: true, labels: ['spam', 'ham'] });
    expect(listed.examples.map((e) => e.label)).toEqual([0, -100, 1]);
    const missing = await write('partly-missing.jsonl', '{"text":"a","label":"spam"}\n{"text":"b"}\n');
    await expect(loadTextDataset(missing, { ...quiet, hiddenLabels: true, labels: ['ham', 'spam'] })).rejects.toThrow(`${missing}:2: column 'label': missing label`);
    await expect(loadTextDataset(missing, { ...quiet, hiddenLabels: true })).rejects.toThrow(`${missing}:2: missing label (line 1 has one`);
  });

  it('hiddenLabels: an empty CSV label field is hidden; a file with every label hidden needs the label list', async () => {
    const file = await write('partly.csv', 'text,label\na,pos\nb,\nc,neg\n');
    expect((await loadTextDataset(file, { ...quiet, hiddenLabels: true })).examples.map((e) => e.label)).toEqual([1, -100, 0]);
    const regression = await write('partly-sts.csv', 'text,label\na,0.5\nb,\n');
    expect((await loadTextDataset(regression, { ...quiet, hiddenLabels: true, task: 'regression' })).examples.map((e) => e.label)).toEqual([0.5, -100]);
    const none = await write('all-hidden.jsonl', '{"text":"a","label":null}\n');
    await expect(loadTextDataset(none, { ...quiet, hiddenLabels: true })).rejects.toThrow(/every label is hidden, so the class ids cannot be known; give the label list/);
    expect((await loadTextDataset(none, { ...quiet, hiddenLabels: true, labels: ['x'] })).examples).toEqual([{ text: 'a', label: -100 }]);
  });

  it('keepLabels keeps a seeded, stratified subset of the labels and reports it; it implies hiddenLabels', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i === 39 ? null : i % 4 === 0 ? 'spam' : 'ham' }));
    const file = await write('keep.jsonl', rows.join('\n'));
    const ds = await loadTextDataset(file, { ...quiet, keepLabels: { fraction: 0.2, seed: 1 } });
    // 39 labelled (29 ham, 10 spam): round(0.2 · 39) = 8 kept → quotas 5.95 / 2.05 → 6 ham, 2 spam.
    expect(ds.keptLabels).toMatchObject({ rows: 40, labelled: 39, kept: 8, classes: [{ label: 0, kept: 6, labelled: 29 }, { label: 1, kept: 2, labelled: 10 }] });
    expect(ds.examples.filter((e) => e.label !== -100)).toHaveLength(8);
    expect(ds.examples[39].label).toBe(-100);
    const again = await loadTextDataset(file, { ...quiet, keepLabels: { fraction: 0.2, seed: 1 } });
    expect(again.examples).toEqual(ds.examples);
    const plain = await write('keep-unlabelled.jsonl', '{"text":"a"}\n');
    await expect(loadTextDataset(plain, { ...quiet, keepLabels: { count: 1 } })).rejects.toThrow(/keepLabels needs a labelled file/);
  });
});

describe('loadTextDataset: CSV and TSV', () => {
  it('reads a CSV with a header, quoted fields and custom column names', async () => {
    const file = await write('reviews.csv', 'id,review,stars\r\n1,"Great, really ""great""",5\r\n2,"two\nlines",1\r\n');
    const ds = await loadTextDataset(file, { ...quiet, columns: { text: 'review', label: 'stars' } });
    expect(ds.examples).toEqual([{ text: 'Great, really "great"', label: 1 }, { text: 'two\nlines', label: 0 }]);
    expect(ds.labels!.names).toEqual(['1', '5']);
  });

  it('reads GLUE TSV: header, unquoted fields with literal quotes, pairs (RTE layout)', async () => {
    const file = await write('rte.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tHe said "go\tShe went\tentailment\n1\tA\tB\tnot_entailment\n');
    const ds = await loadTextDataset(file, quiet);
    expect(ds.examples).toEqual([
      { text: 'He said "go', textPair: 'She went', label: 0 },
      { text: 'A', textPair: 'B', label: 1 },
    ]);
    expect(ds.labels!.names).toEqual(['entailment', 'not_entailment']);
  });

  it('reads a file without a header by column index (CoLA layout)', async () => {
    const file = await write('cola.tsv', 'gj04\t1\t\tOur friends won\'t buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n');
    const ds = await loadTextDataset(file, { ...quiet, header: false, columns: { text: 3, label: 1 } });
    expect(ds.examples).toEqual([{ text: "Our friends won't buy this analysis.", label: 1 }, { text: 'They drank the pub.', label: 0 }]);
    await expect(loadTextDataset(file, { ...quiet, header: false, columns: { text: 'sentence' } }))
      .rejects.toThrow(/columns.text is the name 'sentence' but the file has no header/);
  });

  it('reports wrong column counts, missing text and malformed quotes with line and column', async () => {
    const file = await write('bad.csv', 'text,label\nfine,a\nonly one field\n,b\n"x"y,a\nok,b\n"open,a\n');
    const ds = await loadTextDataset(file, { ...quiet, onBadRow: 'skip' });
    expect(ds.examples).toEqual([{ text: 'fine', label: 0 }, { text: 'ok', label: 1 }]);
    expect(ds.report.badRows).toEqual([
      { file, line: 3, reason: '1 fields, expected 2 (as in the header)' },
      { file, line: 4, column: "'text' (field 1)", reason: 'empty text' },
      { file, line: 5, column: "'text' (field 1)", reason: 'text after the closing quote of a quoted field' },
      { file, line: 7, column: "'text' (field 1)", reason: 'unterminated quoted field (opened on line 7, still open at the end of the input)' },
    ]);
    await expect(loadTextDataset(file, quiet)).rejects.toThrow(/bad.csv:3: 1 fields, expected 2 \(as in the header\)/);
    await expect(loadTextDataset(file, { ...quiet, columns: { label: 'class' } })).rejects.toThrow(/columns.label 'class' is not in the header \('text', 'label'\)/);
  });

  it('infers the format from the extension and asks for it otherwise', async () => {
    const file = await write('data.txt', 'text\nx\n');
    await expect(loadTextDataset(file, quiet)).rejects.toThrow(/cannot tell the format from the extension/);
    expect((await loadTextDataset(file, { ...quiet, format: 'csv' })).examples).toEqual([{ text: 'x' }]);
  });
});

describe('streamExamples', () => {
  it('streams a labelled file through a saved label list', async () => {
    const labelsFile = path.join(dir, 'labels.json');
    await new LabelMap(['neg', 'pos']).save(labelsFile);
    const file = await write('stream.csv', 'text,label\na,pos\nb,neg\nc,what\n');
    const stream = streamExamples(file, { ...quiet, labels: await LabelMap.load(labelsFile), onBadRow: 'skip' });
    const seen = [];
    for await (const e of stream) seen.push(e);
    expect(seen).toEqual([{ text: 'a', label: 1 }, { text: 'b', label: 0 }]);
    expect(stream.report).toMatchObject({ rows: 3, kept: 2, skipped: 1 });
    expect(stream.report.badRows[0]).toEqual({ file, line: 4, column: "'label' (field 2)", reason: 'unknown label "what" (known: "neg", "pos")' });
    await expect((async () => { for await (const _ of stream) { /* second read */ } })()).rejects.toThrow(/can be read once/);
  });

  it('refuses to stream class labels without a label list', async () => {
    const file = await write('nolist.jsonl', '{"text":"a","label":"x"}\n');
    await expect((async () => { for await (const _ of streamExamples(file, quiet)) { /* read */ } })())
      .rejects.toThrow(/nolist.jsonl:1: a streamed classification file needs option 'labels'/);
  });

  it('streams a generated 100k-row transfer set; stopping early reads only the beginning', async () => {
    const file = path.join(dir, 'transfer.jsonl');
    const handle = await fs.open(file, 'w');
    for (let start = 0; start < 100_000; start += 20_000) {
      await handle.write(Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `transfer sentence number ${start + i}` })).join('\n') + '\n');
    }
    await handle.close();
    let count = 0;
    let lengthSum = 0;
    const stream = streamExamples(file, { ...quiet, highWaterMark: 16384 });
    for await (const e of stream) { count++; lengthSum += e.text.length; }
    expect(count).toBe(100_000);
    expect(stream.report).toMatchObject({ rows: 100_000, kept: 100_000, skipped: 0 });
    expect(lengthSum).toBeGreaterThan(2_800_000);
    // Stopping early reads only the beginning.
    const first = [];
    for await (const e of streamExamples(file, quiet)) { first.push(e.text); if (first.length === 3) break; }
    expect(first).toEqual(['transfer sentence number 0', 'transfer sentence number 1', 'transfer sentence number 2']);
  });

  it('reads from a stream with a format and a name for errors', async () => {
    async function* chunks() { yield 'text\tlabel\n'; yield 'x\t1\ny\t'; yield '\n'; }
    await expect((async () => { for await (const _ of streamExamples(chunks(), { ...quiet, format: 'tsv', name: 'stdin', labels: ['0', '1'] })) { /* read */ } })())
      .rejects.toThrow(/^stdin:3: column 'label' \(field 2\): missing label/);
    await expect(streamExamples(chunks(), quiet)[Symbol.asyncIterator]().next()).rejects.toThrow(/needs option 'format'/);
  });
});

describe('long lines and records', () => {
  it('a CSV field past the default limit (16 Mi characters) fails with the file and line, whatever onBadRow says', async () => {
    // A 600 MB field used to end in V8's "Invalid string length" with no file name.
    const file = await write('huge-field.csv', `text,label\nfine,a\n"${'x'.repeat(16 * 1024 * 1024 + 1)}",b\nlater,a\n`);
    for (const onBadRow of ['fail', 'skip'] as const) {
      const error = await loadTextDataset(file, { ...quiet, onBadRow }).catch((e) => e);
      expect(error).toBeInstanceOf(DistilleryError);
      expect(error.message).toBe(`${file}:3: record longer than 16,777,216 characters (option 'maxLineLength'); ` +
        `it ends inside a quoted field not closed since (is a closing quote missing?), or raise the limit`);
    }
    const raised = await loadTextDataset(file, { ...quiet, maxLineLength: 17 * 1024 * 1024 });
    expect(raised.examples.map((e) => e.text.length)).toEqual([4, 16 * 1024 * 1024 + 1, 5]);
  });

  it('maxLineLength bounds JSONL lines and TSV records, with the file (or the stream name) and line', async () => {
    const jsonl = await write('long.jsonl', `{"text":"a","label":"x"}\n{"text":"${'b'.repeat(80)}","label":"y"}\n`);
    await expect(loadTextDataset(jsonl, { ...quiet, maxLineLength: 64 }))
      .rejects.toThrow(`${jsonl}:2: line longer than 64 characters (option 'maxLineLength')`);
    expect((await loadTextDataset(jsonl, { ...quiet, maxLineLength: 104 })).examples).toHaveLength(2);
    const tsv = await write('long.tsv', `sentence\tlabel\n${'c'.repeat(70)}\t1\n`);
    await expect(loadTextDataset(tsv, { ...quiet, maxLineLength: 64 })).rejects.toThrow(`${tsv}:2: record longer than 64 characters`);
    async function* upload() { yield '{"text":"short"}\n'; yield `{"text":"${'d'.repeat(100)}"}\n`; }
    const stream = streamExamples(upload(), { ...quiet, format: 'jsonl', name: 'upload.jsonl', columns: { label: null }, maxLineLength: 64 });
    await expect((async () => { for await (const _ of stream); })()).rejects.toThrow(/^upload\.jsonl:2: line longer than 64/);
    expect(stream.report).toMatchObject({ rows: 1, kept: 1 });
  });
});
