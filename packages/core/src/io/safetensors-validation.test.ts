// decodeSafetensors on damaged and hostile files: each is refused with a DistilleryError that names
// the file, the tensor and what is wrong, before any value is read.
import { describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { decodeSafetensors, encodeSafetensors } from '@distillery/core/kit';
import { thrown } from '@distillery/core/testing';

const source = '/models/x/model.safetensors';

/** u64 LE header length, the JSON header padded with spaces to 8 bytes, then the data. */
function build(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const raw = new TextEncoder().encode(text);
  const json = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(0x20);
  json.set(raw);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** The error decoding `file` throws: a 'checkpoint' DistilleryError naming the source and matching `pattern`. */
function refused(file: Uint8Array, pattern: RegExp, options: { allowNonFinite?: boolean } = {}): string {
  const e = thrown(() => decodeSafetensors(file, { source, ...options }));
  expect(e).toBeInstanceOf(DistilleryError);
  expect((e as DistilleryError).code).toBe('checkpoint');
  expect(e.message.startsWith(`${source}: `)).toBe(true);
  expect(e.message).toMatch(pattern);
  return e.message;
}

describe('the header length', () => {
  const good = encodeSafetensors({ W: { shape: [1], data: Float32Array.from([1]) } });
  const withLength = (n: bigint) => {
    const copy = good.slice();
    new DataView(copy.buffer).setBigUint64(0, n, true);
    return copy;
  };

  it('0 is refused', () => {
    refused(withLength(0n), /header length is 0/);
  });

  it('past the end of the file, also when negative as a signed integer', () => {
    refused(withLength(BigInt(good.length - 7)), new RegExp(`header length ${good.length - 7} exceeds the file size ${good.length}`));
    refused(withLength(2n ** 64n - 8n), /header length 18446744073709551608 \(-8 as a signed integer\) exceeds/);
  });

  it('over the 100 MB limit of the Rust crate, even inside a file that large', () => {
    const big = new Uint8Array(100_000_016);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    refused(big, /header length 100000001 is over the 100000000-byte limit/);
  });
});

describe('the JSON header', () => {
  it('must be UTF-8', () => {
    const file = build('{"a": 1}', new Uint8Array(0));
    file[12] = 0xff;
    refused(file, /the JSON header does not parse/);
  });

  it.each([['null', /is null, not an object/], ['[1, 2]', /is \[1, 2\], not an object/], ['"x"', /is "x", not an object/],
    ['5', /is 5, not an object/]])('%s is not an object of tensors', (text, pattern) => {
    refused(build(text, new Uint8Array(0)), pattern);
  });

  it.each([[null, /__metadata__ is null, expected an object of strings/], [[], /__metadata__ is \[\], expected/],
    [{ step: 3 }, /__metadata__ key "step" is 3, expected a string/]])('__metadata__ %j is refused', (metadata, pattern) => {
    refused(build({ __metadata__: metadata }, new Uint8Array(0)), pattern);
  });

  it('an entry that is not an object, and the name __proto__', () => {
    refused(build({ W: 'F32' }, new Uint8Array(0)), /tensor 'W' is "F32", expected \{ dtype, shape, data_offsets \}/);
    refused(build('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(1)), /'__proto__' is not an allowed tensor name/);
  });

  it.each(['U8', 'constructor', 'toString', '', 5, null])('dtype %j is refused, naming the ones read', (dtype) => {
    refused(build({ q: { dtype, shape: [1], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'q' has unsupported dtype .* \(this reader takes F32, F16, BF16, F64, I32, I64\)/);
  });

  it.each([[[-1]], [[1.5]], [['2']], [[2 ** 53]], [null], [[[2]]], [{ 0: 1 }], [[Infinity]]])('shape %j is refused', (shape) => {
    refused(build({ W: { dtype: 'F32', shape, data_offsets: [0, 4] } }, f32(1)),
      /tensor 'W' has no valid shape: expected a list of non-negative integers/);
  });

  it('a shape whose size exceeds the data is refused before any allocation (no overflow)', () => {
    refused(build({ W: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 2 ** 31], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'W' \(F32 \[2147483648, 2147483648, 2147483648\]\): its values do not fit the 4-byte data section/);
  });

  it.each([[[0]], [[0, 4, 8]], [[0.5, 4.5]], [['0', '4']], [null], [[0, 2 ** 60]]])('data_offsets %j are refused', (offsets) => {
    refused(build({ W: { dtype: 'F32', shape: [1], data_offsets: offsets } }, f32(1)),
      /tensor 'W' has no valid data_offsets: expected \[begin, end\] integers|do not fit/);
  });

  it('reversed offsets, and offsets whose span is not the size of the shape', () => {
    refused(build({ W: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)), /\[4, 0\]: expected 0 <= begin <= end/);
    refused(build({ W: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, f32(1, 2)), /'W' \(F32 \[2\], 8 bytes\) has data_offsets \[0, 4\] that do not fit: they span 4 bytes/);
  });
});

describe('data_offsets must tile the data section', () => {
  it('refuses overlapping tensors, naming both', () => {
    refused(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
      /tensor 'b' at data_offsets \[4, 8\] overlaps tensor 'a' at \[0, 8\]/);
    refused(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1)),
      /overlaps/);
  });

  it('refuses a gap and trailing bytes', () => {
    refused(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(1, 2, 3)),
      /bytes \[4, 8\) of the data section belong to no tensor \(a gap before tensor 'b'/);
    refused(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)),
      /the data section has 8 bytes but the tensors cover 4 \(4 trailing bytes/);
    refused(build({}, f32(1)), /the data section has 4 bytes but the tensors cover 0/);
  });

  it('reads tensors stored in another order than the header\'s, zero-sized ones anywhere, and an empty file', () => {
    const header = {
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, e: { dtype: 'F32', shape: [0, 3], data_offsets: [4, 4] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, z: { dtype: 'I32', shape: [0], data_offsets: [12, 12] },
      c: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    };
    const { tensors } = decodeSafetensors(build(header, f32(1, 2, 3)), source);
    expect(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data)]))).toEqual({ a: [1], b: [3], c: [2], e: [], z: [] });
    expect(tensors.e.shape).toEqual([0, 3]);
    expect(decodeSafetensors(build({}, new Uint8Array(0)))).toEqual({ tensors: {}, metadata: {} });
  });
});

describe('values', () => {
  const i64 = (...values: bigint[]) => new Uint8Array(BigInt64Array.from(values).buffer);

  it.each([[2n ** 31n, 1], [-(2n ** 31n) - 1n, 2], [2n ** 63n - 1n, 0]])('I64 %s (not an int32) is refused, naming tensor and index', (value, index) => {
    const values = [0n, 1n, 2n].map((v, i) => (i === index ? value : v));
    const file = build({ position_ids: { dtype: 'I64', shape: [1, 3], data_offsets: [0, 24] } }, i64(...values));
    refused(file, new RegExp(`tensor 'position_ids' \\(I64 \\[1, 3\\]\\) holds ${value} at index ${index} \\[0, ${index}\\], which does not fit int32`));
  });

  it('the int32 extremes of an I64 tensor are read', () => {
    const file = build({ l: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, i64(2n ** 31n - 1n, -(2n ** 31n)));
    expect(Array.from(decodeSafetensors(file).tensors.l.data)).toEqual([2147483647, -2147483648]);
  });

  it('NaN and ±Infinity are refused by default, naming the tensor, the first index and the count', () => {
    const file = build({ ok: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, W: { dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] } },
      f32(0, 1, 2, 3, 4, NaN, -Infinity));
    refused(file, /tensor 'W' \(F32 \[2, 3\]\) holds NaN at index 4 \[1, 1\], 2 non-finite value\(s\) in all; .*allowNonFinite/);
    const { tensors } = decodeSafetensors(file, { source, allowNonFinite: true });
    expect(Array.from(tensors.W.data)).toEqual([1, 2, 3, 4, NaN, -Infinity]);
  });

  it('F16, BF16 and F64 non-finite values too; F64 beyond float32 becomes Infinity and is refused', () => {
    const half = new Uint8Array(Uint16Array.from([0x3c00, 0x7c00]).buffer);
    refused(build({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, half), /tensor 'h' \(F16 \[2\]\) holds Infinity at index 1/);
    const bf = new Uint8Array(Uint16Array.from([0x7fc0]).buffer);
    refused(build({ b: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, bf), /tensor 'b' \(BF16 \[1\]\) holds NaN at index 0/);
    const f64 = new Uint8Array(Float64Array.from([1, -1e300]).buffer);
    refused(build({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, f64), /tensor 'd' \(F64 \[2\]\) holds -Infinity \(as float32\) at index 1/);
  });

  it('unaligned F32 and I32 data are read as aligned data are', () => {
    // A header of odd length (no padding) puts the data at an odd byte of the file.
    const data = new Uint8Array([...f32(1.5, -2), ...new Uint8Array(Int32Array.from([-7]).buffer)]);
    const text = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    const raw = new TextEncoder().encode(text.length % 2 ? text : `${text} `);
    const file = new Uint8Array(8 + raw.length + data.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(raw.length), true);
    file.set(raw, 8);
    file.set(data, 8 + raw.length);
    expect((8 + raw.length) % 4).not.toBe(0);
    const { tensors } = decodeSafetensors(file);
    expect(Array.from(tensors.a.data)).toEqual([1.5, -2]);
    expect(Array.from(tensors.i.data)).toEqual([-7]);
  });

  it('the source may be given as a string, as before', () => {
    const e = thrown(() => decodeSafetensors(new Uint8Array(3), 'weights.safetensors'));
    expect(e.message).toBe('weights.safetensors: file is 3 bytes, too short for a safetensors header');
  });
});
