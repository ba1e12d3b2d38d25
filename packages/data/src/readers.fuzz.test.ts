import { describe, expect, it } from 'vitest';
import { DistilleryError, silentLogger } from '@distillery/core';
import { Rng } from '@distillery/core/kit';
import type { ReadReport } from './bad-rows.js';
import { HIDDEN_LABEL } from './partial-labels.js';
import { loadTextDataset, streamExamples, type LoadTextOptions, type TextFormat } from './readers.js';
import type { TextExample } from './types.js';

// Seeded mutations of small valid JSONL/CSV/TSV files, read whole and streamed under random options
// and random chunkings: each case ends in a dataset whose report accounts for every row, or in a
// DistilleryError naming the file, within a time bound.

// `npm run fuzz:long` (scripts/fuzz-long.mjs) scales the corpus and changes the seed.
const SCALE = Number(process.env.DISTILLERY_FUZZ_SCALE ?? 1);
const SEED = Number(process.env.DISTILLERY_FUZZ_SEED ?? 20240612);
const CASES_PER_FORMAT = 110 * SCALE; // × 3 formats = 330 cases
const CASE_SECONDS = 2;
const MAX_LINE = 2048;

const BASES: Record<TextFormat, string[]> = {
  jsonl: [
    '{"text":"good film","label":"pos"}\n{"text":"bad film","label":"neg"}\n\n{"text":"fine, \\"really\\"","label":"pos"}\n',
    '{"text_a":"a man sleeps","text_b":"nobody sleeps","label":"2"}\r\n{"text_a":"x","text_b":"y","label":"0"}\r\n',
    '{"sentence":"unlabelled one"}\n{"sentence":"unlabelled two é€🐳"}',
    '{"text":"half","label":null}\n{"text":"known","label":"neg"}\n{"text":"score","label":"pos"}\n',
  ],
  csv: [
    'text,label\ngood film,pos\n"bad, very bad",neg\n"say ""hi""\nover lines",pos\n',
    'sentence1,sentence2,label\r\nthe cat,a cat,1\r\n"two\r\nlines",x,0\r\n',
    'id,text\n1,"unlabelled"\n2,plain é€🐳\n',
  ],
  tsv: [
    'sentence\tlabel\nhe said "no\t1\nshe left\t0\n',
    'text_a\ttext_b\tlabel\na\tb\tpos\nc\td\tneg\n',
  ],
};
const LABELS = ['0', '1', '2', 'neg', 'pos'];

const PIECES = ['"', ',', '\t', '\n', '\r\n', '\r', '{', '}', '[', ']', ':', '\\', 'null', '1e999', '-0', 'NaN', '""',
  '"label"', '"text"', '{"text":1}', '\u0000', '\uFEFF', '\ud800', '\\u12', 'x'.repeat(MAX_LINE + 10), '"' + 'q'.repeat(MAX_LINE),
  ','.repeat(MAX_LINE + 1), '\n'.repeat(40), '{"text":"' + 'y'.repeat(MAX_LINE - 20) + '"}', '[] ', 'true', '{"__proto__":{"text":"p"}}'];

function mutate(rng: Rng, text: string): Uint8Array {
  let s = text;
  const steps = 1 + rng.int(3);
  for (let k = 0; k < steps; k++) {
    const at = rng.int(s.length + 1);
    const to = Math.min(s.length, at + 1 + rng.int(12));
    switch (rng.int(7)) {
      case 0: s = s.slice(0, at) + s.slice(to); break; // delete a span
      case 1: s = s.slice(0, at) + PIECES[rng.int(PIECES.length)] + s.slice(at); break; // insert a piece
      case 2: s = s.slice(0, to) + s.slice(at, to) + s.slice(to); break; // duplicate a span
      case 3: s = s.slice(0, at); break; // truncate
      case 4: { // swap two lines
        const lines = s.split('\n');
        const i = rng.int(lines.length), j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        s = lines.join('\n');
        break;
      }
      case 5: s = s.replace(/"(pos|neg|\d)"|\b(pos|neg)\b/, ['null', '""', '3.5', '{}', 'maybe', ''][rng.int(6)]); break; // a bad label
      default: s = s.slice(0, at) + String.fromCharCode(rng.int(0x80)) + s.slice(to); break; // replace with a random ASCII char
    }
  }
  const bytes = new TextEncoder().encode(s);
  if (bytes.length > 0 && rng.next() < 0.2) bytes[rng.int(bytes.length)] = [0xff, 0xc3, 0x80, 0xe2][rng.int(4)]; // broken UTF-8
  return bytes;
}

/** The bytes in random chunks (1 to 64 bytes), so that lines, quotes and UTF-8 sequences break anywhere. */
async function* chunked(rng: Rng, bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length;) {
    const size = 1 + rng.int(64);
    yield bytes.subarray(i, i + size);
    i += size;
  }
}

function randomOptions(rng: Rng, format: TextFormat, name: string): LoadTextOptions {
  const options: LoadTextOptions = { format, name, logger: silentLogger, maxLineLength: MAX_LINE };
  if (rng.next() < 0.5) options.onBadRow = 'skip';
  const kind = rng.int(5);
  if (kind === 1) options.labels = LABELS;
  if (kind === 2) options.task = 'regression';
  if (kind === 3) options.columns = { label: null };
  if (rng.next() < 0.3) options.hiddenLabels = true;
  return options;
}

function checkExamples(examples: TextExample[], report: ReadReport, options: LoadTextOptions, labelCount: number | undefined) {
  expect(report.kept).toBe(examples.length);
  // Nothing is dropped without being counted.
  expect(report.kept + report.skipped).toBe(report.rows);
  if (options.onBadRow !== 'skip') expect(report.skipped).toBe(0);
  for (const example of examples) {
    expect(typeof example.text).toBe('string');
    expect(example.text.trim()).not.toBe('');
    if (example.label === undefined) continue;
    if (options.task === 'regression') expect(Number.isFinite(example.label)).toBe(true);
    else if (example.label !== HIDDEN_LABEL) {
      expect(Number.isInteger(example.label)).toBe(true);
      expect(example.label).toBeGreaterThanOrEqual(0);
      expect(example.label).toBeLessThan(labelCount!);
    }
  }
}

async function runCase(rng: Rng, format: TextFormat, index: number): Promise<'read' | 'error'> {
  const base = BASES[format][rng.int(BASES[format].length)];
  const bytes = mutate(rng, base);
  const name = `fuzz-${index}.${format}`;
  const options = randomOptions(rng, format, name);
  const streamed = options.labels !== undefined || options.task === 'regression' || options.columns?.label === null;
  try {
    if (streamed && rng.next() < 0.5) {
      const stream = streamExamples(chunked(rng, bytes), options);
      const examples: TextExample[] = [];
      for await (const example of stream) examples.push(example);
      checkExamples(examples, stream.report, options, LABELS.length);
    } else {
      const dataset = await loadTextDataset(chunked(rng, bytes), options);
      checkExamples(dataset.examples, dataset.report, options, dataset.labels?.size ?? LABELS.length);
    }
    return 'read';
  } catch (error) {
    if (!(error instanceof DistilleryError)) {
      throw new Error(`case ${index} (${format}, ${JSON.stringify(new TextDecoder().decode(bytes)).slice(0, 300)}, ` +
        `${JSON.stringify({ ...options, logger: undefined })}) threw ${(error as Error)?.stack ?? error}`);
    }
    expect(error.message).toContain(name);
    return 'error';
  }
}

describe('data files: seeded fuzz', () => {
  it(`reads ${CASES_PER_FORMAT * 3} mutated JSONL/CSV/TSV files to a dataset or a DistilleryError naming the file`, async () => {
    const outcomes = { read: 0, error: 0 };
    let index = 0;
    let slowest = 0;
    for (const format of ['jsonl', 'csv', 'tsv'] as const) {
      const rng = Rng.derive(SEED, 'data-fuzz', format);
      for (let k = 0; k < CASES_PER_FORMAT; k++, index++) {
        const start = performance.now();
        outcomes[await runCase(rng, format, index)]++;
        const ms = performance.now() - start;
        slowest = Math.max(slowest, ms);
        expect(ms / 1000, `case ${index}`).toBeLessThan(CASE_SECONDS);
      }
    }
    if (SCALE > 1) console.log(`FUZZ data-files seed=${SEED} cases=${index} valid=${outcomes.read} refused=${outcomes.error} slowest_ms=${slowest.toFixed(1)}`);
    // Both outcomes occur: the corpus exercises the readers' error paths and their happy paths.
    expect(outcomes.read).toBeGreaterThan(30);
    expect(outcomes.error).toBeGreaterThan(30);
  }, 60_000 * SCALE);
});
