// Seeded fuzzing of decodeSafetensors: 1,200 mutations of a small valid file (header length, JSON
// text, dtype, shape, offsets, metadata, truncation, huge values, NaN/Inf and out-of-range I64
// data). Every case must end in a valid decode or a DistilleryError naming the file, within a time
// bound; a decode that returns must hold what its header says. A failure names the case and seed.
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { decodeSafetensors, Rng } from '@distillery/core/kit';

// `npm run fuzz:long` (scripts/fuzz-long.mjs) scales the corpus and changes the seed.
const SCALE = Number(process.env.DISTILLERY_FUZZ_SCALE ?? 1);
const SEED = Number(process.env.DISTILLERY_FUZZ_SEED ?? 12);
const CASES = 1200 * SCALE;
/** Per case, far above the ~0.1 ms a case takes: a case this slow is a hang. */
const BOUND_MS = 250;
const source = 'fuzz.safetensors';

type Header = Record<string, any>;

/** u64 LE header length, the JSON header padded with spaces to 8 bytes, then the data. */
function build(text: string, data: Uint8Array): Uint8Array {
  const raw = new TextEncoder().encode(text);
  const json = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(0x20);
  json.set(raw);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The valid file every case starts from: each dtype, a scalar and a zero-sized tensor. */
function baseline(): { header: Header; data: Uint8Array } {
  const parts: [string, string, number[], Uint8Array][] = [
    ['W', 'F32', [2, 3], new Uint8Array(Float32Array.from([1.5, -2, 0.25, 3, -0.125, 1e-3]).buffer)],
    ['h', 'F16', [3], new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3555]).buffer)],
    ['b', 'BF16', [2], new Uint8Array(Uint16Array.from([0x3f80, 0xc040]).buffer)],
    ['d', 'F64', [2], new Uint8Array(Float64Array.from([1 / 3, -7]).buffer)],
    ['ids', 'I64', [1, 3], new Uint8Array(BigInt64Array.from([0n, 1n, 2n]).buffer)],
    ['n', 'I32', [2], new Uint8Array(Int32Array.from([7, -1]).buffer)],
    ['s', 'F32', [], new Uint8Array(Float32Array.from([42]).buffer)],
    ['e', 'F32', [0, 4], new Uint8Array(0)],
  ];
  const header: Header = { __metadata__: { format: 'pt' } };
  const data = new Uint8Array(parts.reduce((n, p) => n + p[3].length, 0));
  let at = 0;
  for (const [name, dtype, shape, bytes] of parts) {
    header[name] = { dtype, shape, data_offsets: [at, at + bytes.length] };
    data.set(bytes, at);
    at += bytes.length;
  }
  return { header, data };
}

const HUGE = [2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e15, 1e300, -1, -(2 ** 31), 0.5, NaN];
const ODD_VALUES: unknown[] = [null, true, 'x', '', [], {}, [[1]], { a: 1 }, 1e400, -0, 'F32'];
const DTYPES: unknown[] = ['F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F8_E4M3', '', 'f32', 'constructor',
  'toString', '__proto__', 'hasOwnProperty', null, 4, ['F32'], {}];
const JSON_CHARS = '{}[]":,0123456789eE.-+ \\tnulfasr';

/** One mutation, chosen and shaped by `rng`; returns the file and a short label for failures. */
function mutate(rng: Rng): { file: Uint8Array; kind: string } {
  const { header, data } = baseline();
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)];
  // Combined edits may have broken the header already: an entry to edit is always an object with lists.
  const entry = () => {
    const live = Object.keys(header).filter((k) => k !== '__metadata__' && typeof header[k] === 'object' && header[k] !== null);
    const e = live.length ? header[pick(live)] : (header.added = {});
    if (!Array.isArray(e.shape)) e.shape = [];
    if (!Array.isArray(e.data_offsets)) e.data_offsets = [0, 0];
    return e;
  };
  const file = (h: Header | string = header, d = data) => build(typeof h === 'string' ? h : JSON.stringify(h), d);
  const kinds = ['length', 'json-byte', 'json-edit', 'json-value', 'dtype', 'shape', 'offsets', 'truncate', 'append',
    'data-float', 'data-i64', 'metadata', 'entry', 'names', 'combined'] as const;
  const kind = pick(kinds);
  const edit = (k: string): Uint8Array => {
    switch (k) {
      case 'length': {
        const f = file();
        const real = Number(new DataView(f.buffer).getBigUint64(0, true));
        const choices = [0n, 1n, 7n, BigInt(real - 1), BigInt(real + 1), BigInt(real + 8), BigInt(f.length - 8), BigInt(f.length - 7),
          2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, BigInt(rng.nextUint32())];
        new DataView(f.buffer).setBigUint64(0, pick(choices), true);
        return f;
      }
      case 'json-byte': {
        const f = file();
        const length = Number(new DataView(f.buffer).getBigUint64(0, true));
        for (let i = 1 + rng.int(3); i > 0; i--) {
          f[8 + rng.int(length)] = rng.next() < 0.5 ? JSON_CHARS.charCodeAt(rng.int(JSON_CHARS.length)) : rng.int(256);
        }
        return f;
      }
      case 'json-edit': {
        const text = JSON.stringify(header);
        const at = rng.int(text.length);
        const cut = rng.int(4);
        const insert = rng.next() < 0.5 ? '' : JSON_CHARS[rng.int(JSON_CHARS.length)].repeat(1 + rng.int(3));
        return file(text.slice(0, at) + insert + text.slice(at + cut));
      }
      case 'json-value': {
        const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
        return file(pick(['null', '[]', '"x"', '1', 'true', '{"a": 1}', deep(10_000), `{"a": ${deep(5_000)}}`, '{}', '{"": {}}']));
      }
      case 'dtype':
        entry().dtype = pick(DTYPES);
        return file();
      case 'shape': {
        const e = entry();
        const r = rng.int(5);
        if (r === 0) e.shape = pick(ODD_VALUES);
        else if (r === 1) e.shape = [...e.shape, pick([0, 1, 2, ...HUGE])];
        else if (r === 2 && e.shape.length) e.shape[rng.int(e.shape.length)] = pick([0, 1, 3, ...HUGE, ...ODD_VALUES]);
        else if (r === 3) e.shape = [pick(HUGE), pick(HUGE), pick(HUGE)];
        else e.shape = e.shape.slice(1);
        return file();
      }
      case 'offsets': {
        const e = entry();
        const r = rng.int(6);
        if (r === 0) e.data_offsets = pick(ODD_VALUES);
        else if (r === 1) e.data_offsets[rng.int(2)] += pick([-8, -4, -2, -1, 1, 2, 4, 8]);
        else if (r === 2) e.data_offsets = [e.data_offsets[1], e.data_offsets[0]];
        else if (r === 3) e.data_offsets = [...entry().data_offsets];
        else if (r === 4) e.data_offsets[rng.int(2)] = pick([...HUGE, ...ODD_VALUES]);
        else e.data_offsets = [...e.data_offsets, 0];
        return file();
      }
      case 'truncate': {
        const f = file();
        return f.subarray(0, rng.int(f.length));
      }
      case 'append': {
        const extra = new Uint8Array(1 + rng.int(16)).map(() => rng.int(256));
        const d = new Uint8Array(data.length + extra.length);
        d.set(data);
        d.set(extra, data.length);
        return file(header, d);
      }
      case 'data-float': {
        // NaN / ±Inf patterns of each float width, or random bytes, at a random place in the data.
        const d = data.slice();
        const patterns = [[0x00, 0x00, 0xc0, 0x7f], [0x00, 0x00, 0x80, 0x7f], [0x00, 0x00, 0x80, 0xff], [0x00, 0x7c], [0x80, 0x7f],
          [0xc0, 0x7f], [0, 0, 0, 0, 0, 0, 0xf0, 0x7f], [0, 0, 0, 0, 0, 0, 0xf8, 0x7f], [0x9c, 0x75, 0x88, 0x3c, 0xe4, 0x37, 0x7e, 0x7f]];
        const bytes = rng.next() < 0.7 ? pick(patterns) : Array.from({ length: 1 + rng.int(8) }, () => rng.int(256));
        const at = rng.int(Math.max(1, d.length - bytes.length));
        d.set(bytes.slice(0, d.length - at), at);
        return file(header, d);
      }
      case 'data-i64': {
        const d = data.slice();
        const [begin] = header.ids.data_offsets;
        new DataView(d.buffer).setBigInt64(begin + 8 * rng.int(3), pick([2n ** 31n, -(2n ** 31n) - 1n, 2n ** 63n - 1n, -1n, 2n ** 31n - 1n]), true);
        return file(header, d);
      }
      case 'metadata':
        header.__metadata__ = pick([null, 5, [], { step: 3 }, { a: 'b' }, { a: null }, 'pt', undefined]);
        return file();
      case 'entry':
        header[pick(names)] = pick(ODD_VALUES);
        return file();
      case 'names': {
        const r = rng.int(3);
        if (r === 0) delete header[pick(names)];
        else if (r === 1) return file(JSON.stringify(header).replace(/"W"/, '"__proto__"'));
        else header[pick(['constructor', 'toString', '', 'x'.repeat(1000)])] = structuredClone(entry());
        return file();
      }
      default: {
        // Two or three of the header edits above, on the same header.
        const header2 = kinds.slice(4, 7).concat(['metadata', 'entry', 'names'] as never[]);
        let f = file();
        for (let i = 2 + rng.int(2); i > 0; i--) f = edit(pick(header2));
        return f;
      }
    }
  };
  return { file: edit(kind), kind };
}

/** 'ok' or 'refused'; throws (failing the test) on any other outcome. */
function attempt(file: Uint8Array, allowNonFinite: boolean, label: string): 'ok' | 'refused' {
  const started = performance.now();
  let outcome: 'ok' | 'refused';
  try {
    const { tensors, metadata } = decodeSafetensors(file, { source, allowNonFinite });
    for (const [name, t] of Object.entries(tensors)) {
      expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${label}: '${name}' shape`).toBe(true);
      expect(t.data.length, `${label}: '${name}' size`).toBe(t.shape.reduce((a, b) => a * b, 1));
      expect(t.data instanceof Float32Array || t.data instanceof Int32Array, `${label}: '${name}' type`).toBe(true);
      if (!allowNonFinite && t.data instanceof Float32Array) expect(t.data.every(Number.isFinite), `${label}: '${name}' finite`).toBe(true);
    }
    expect(Object.values(metadata).every((v) => typeof v === 'string'), `${label}: metadata`).toBe(true);
    outcome = 'ok';
  } catch (error) {
    if (!(error instanceof DistilleryError)) {
      throw new Error(`${label}: ${(error as Error)?.name ?? typeof error} escaped: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    expect(error.code, label).toBe('checkpoint');
    expect(error.message.startsWith(`${source}: `), `${label}: ${error.message}`).toBe(true);
    outcome = 'refused';
  }
  const ms = performance.now() - started;
  expect(ms, `${label}: took ${ms.toFixed(1)} ms`).toBeLessThan(BOUND_MS);
  return outcome;
}

describe('decodeSafetensors fuzzing', () => {
  it(`${CASES} seeded mutations end in a valid decode or a DistilleryError, each within ${BOUND_MS} ms`, () => {
    const rng = new Rng(SEED);
    const tally: Record<string, { ok: number; refused: number }> = {};
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const start = performance.now();
      const { file, kind } = mutate(rng);
      const label = `case ${i} (${kind}, seed ${SEED})`;
      const strict = attempt(file, false, label);
      const lenient = attempt(file, true, `${label}, allowNonFinite`);
      // Allowing non-finite values can only turn a refusal into a decode, never the reverse.
      if (strict === 'ok') expect(lenient, label).toBe('ok');
      (tally[kind] ??= { ok: 0, refused: 0 })[strict]++;
      slowest = Math.max(slowest, performance.now() - start);
    }
    const total = Object.values(tally).reduce((n, t) => ({ ok: n.ok + t.ok, refused: n.refused + t.refused }), { ok: 0, refused: 0 });
    expect(total.ok + total.refused).toBe(CASES);
    if (SCALE > 1) console.log(`FUZZ safetensors seed=${SEED} cases=${CASES} valid=${total.ok} refused=${total.refused} slowest_ms=${slowest.toFixed(1)}`);
    // The mutations reach both outcomes, and every kind was tried.
    expect(Object.keys(tally).length).toBe(15);
    expect(total.ok).toBeGreaterThan(CASES / 20);
    expect(total.refused).toBeGreaterThan(CASES / 2);
    for (const kind of ['length', 'dtype', 'shape', 'offsets', 'truncate', 'data-float', 'data-i64']) expect(tally[kind].refused, kind).toBeGreaterThan(0);
  }, 60_000 * SCALE);

  it('the baseline decodes', () => {
    const { header, data } = baseline();
    const { tensors } = decodeSafetensors(build(JSON.stringify(header), data), source);
    expect(Object.keys(tensors)).toEqual(['W', 'h', 'b', 'd', 'ids', 'n', 's', 'e']);
    expect(Array.from(tensors.ids.data)).toEqual([0, 1, 2]);
  });
});
