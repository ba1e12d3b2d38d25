import { describe, expect, it } from 'vitest';
import { DistilleryError } from '@distillery/core';
import { decodeSafetensors, encodeSafetensors, halfToFloat } from '@distillery/core/kit';
import { thrown } from '@distillery/core/testing';

/**
 * Builds a safetensors file by hand: u64 LE header length, the JSON header (padded with spaces to
 * a multiple of 8 bytes, as the Rust crate does), then the data bytes.
 */
function build(header: Record<string, unknown>, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes from explicit writes. */
function bytes(count: number, write: (dv: DataView) => void): Uint8Array {
  const b = new Uint8Array(count);
  write(new DataView(b.buffer));
  return b;
}

describe('encodeSafetensors layout', () => {
  const W = Float32Array.from([1.5, -2, 0.25, 3, -0.125, 1e-3]);
  const ids = Int32Array.from([7, -1, 2147483647, -2147483648]);
  const encoded = encodeSafetensors({ W: { shape: [2, 3], data: W }, ids: { shape: [4], data: ids } }, { format: 'pt' });

  it('starts with the little-endian u64 header length, a multiple of 8', () => {
    // Read the 8 bytes by hand: b0 + b1·2^8 + ...
    let n = 0;
    for (let i = 7; i >= 0; i--) n = n * 256 + encoded[i];
    expect(n % 8).toBe(0);
    expect(n).toBeGreaterThan(0);
    // The whole file is 8 + header + 6·4 + 4·4 bytes.
    expect(encoded.length).toBe(8 + n + 24 + 16);
    // The header is JSON followed only by spaces.
    const text = new TextDecoder().decode(encoded.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/s);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.W).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.ids).toEqual({ dtype: 'I32', shape: [4], data_offsets: [24, 40] });
  });

  it('stores the raw little-endian values at the data offsets (data starts 8-byte aligned)', () => {
    let n = 0;
    for (let i = 7; i >= 0; i--) n = n * 256 + encoded[i];
    const start = 8 + n;
    expect(start % 8).toBe(0);
    const dv = new DataView(encoded.buffer, encoded.byteOffset);
    for (let i = 0; i < 6; i++) expect(dv.getFloat32(start + 4 * i, true)).toBe(W[i]);
    for (let i = 0; i < 4; i++) expect(dv.getInt32(start + 24 + 4 * i, true)).toBe(ids[i]);
    // 1.5f is 0x3FC00000: bytes 00 00 C0 3F.
    expect(Array.from(encoded.subarray(start, start + 4))).toEqual([0x00, 0x00, 0xc0, 0x3f]);
  });

  it('pads by UTF-8 byte length when the metadata is not ASCII', () => {
    for (const note of ['é', 'éé', '日本語', 'x'.repeat(13)]) {
      const e = encodeSafetensors({ a: { shape: [1], data: Float32Array.from([1]) } }, { note });
      const n = Number(new DataView(e.buffer, e.byteOffset).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      expect(e.length).toBe(8 + n + 4);
      expect(decodeSafetensors(e).metadata).toEqual({ note });
    }
  });

  it('fails when a shape does not match the data length, naming the tensor', () => {
    const e = thrown(() => encodeSafetensors({ bad: { shape: [2, 2], data: new Float32Array(3) } }));
    expect(e).toBeInstanceOf(DistilleryError);
    expect(e.message).toContain("'bad'");
    expect(e.message).toContain('[2, 2]');
  });
});

describe('encode/decode round trip', () => {
  it('F32 and I32 with metadata, including a scalar and views into larger buffers', () => {
    const big = new Float32Array([9, 9, 0.5, -1.25, 3.75, 9]);
    const view = big.subarray(2, 5); // byteOffset 8
    const tensors = {
      W: { shape: [2, 3], data: Float32Array.from([1.5, -2, 0.25, 3, -0.125, 1e-3]) },
      ids: { shape: [2, 2], data: Int32Array.from([0, -5, 65536, -2147483648]) },
      view: { shape: [3], data: view },
      scalar: { shape: [], data: Float32Array.from([42]) },
    };
    const metadata = { format: 'distillery', step: '12' };
    const { tensors: out, metadata: meta } = decodeSafetensors(encodeSafetensors(tensors, metadata));
    expect(meta).toEqual(metadata);
    expect(Object.keys(out).sort()).toEqual(['W', 'ids', 'scalar', 'view']);
    expect(out.W.shape).toEqual([2, 3]);
    expect(out.W.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.W.data)).toEqual(Array.from(tensors.W.data));
    expect(out.ids.data).toBeInstanceOf(Int32Array);
    expect(Array.from(out.ids.data)).toEqual([0, -5, 65536, -2147483648]);
    expect(Array.from(out.view.data)).toEqual([0.5, -1.25, 3.75]);
    expect(out.scalar.shape).toEqual([]);
    expect(Array.from(out.scalar.data)).toEqual([42]);
  });

  it('no metadata decodes as {}', () => {
    const e = encodeSafetensors({ a: { shape: [1], data: Float32Array.from([1]) } });
    expect(decodeSafetensors(e).metadata).toEqual({});
  });

  it('decodes a Uint8Array that is a view at an odd offset into a larger buffer', () => {
    const e = encodeSafetensors({ a: { shape: [2], data: Float32Array.from([0.5, -7]) } });
    const host = new Uint8Array(e.length + 5);
    host.set(e, 3);
    const { tensors } = decodeSafetensors(host.subarray(3, 3 + e.length));
    expect(Array.from(tensors.a.data)).toEqual([0.5, -7]);
  });
});

describe('decoding other dtypes from hand-built files', () => {
  it('F16: 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504, subnormals, ±0, ±Inf, NaN, 0x3555', () => {
    // Half = (−1)^s · 2^(e−15) · (1 + f/1024), or 2^−14 · f/1024 when e = 0.
    //   0x3C00: e = 15, f = 0 → 1.        0xC000: s = 1, e = 16 → −2.
    //   0x7BFF: e = 30, f = 1023 → 2^15 · 2047/1024 = 65504 (largest half).
    //   0x0001: 2^−14 / 1024 = 2^−24 (smallest subnormal).   0x03FF: 2^−14 · 1023/1024.
    //   0x3555: e = 13, f = 341 → (1 + 341/1024)/4 = 1365/4096 = 0.333251953125.
    const codes = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const expected = [1, -2, 65504, 2 ** -24, (2 ** -14 * 1023) / 1024, -0, Infinity, -Infinity, NaN, 1365 / 4096];
    const data = bytes(2 * codes.length, (dv) => codes.forEach((c, i) => dv.setUint16(2 * i, c, true)));
    const file = build({ h: { dtype: 'F16', shape: [2, 5], data_offsets: [0, data.length] } }, data);
    // Infinities and NaN are refused by default (see safetensors-validation.test.ts); allowNonFinite reads them.
    const { tensors } = decodeSafetensors(file, { allowNonFinite: true });
    expect(tensors.h.shape).toEqual([2, 5]);
    expect(tensors.h.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensors.h.data)).toEqual(expected);
    expect(Object.is(tensors.h.data[5], -0)).toBe(true);
    // halfToFloat itself, on the same codes.
    expect(codes.map(halfToFloat)).toEqual(expected);
  });

  it('BF16: 0x3F80 = 1, 0xC040 = −3, 0x4049 = 3.140625, ±0, ±Inf', () => {
    // bfloat16 is the top half of a float32: 0x3F80 → 0x3F800000 = 1; 0xC040 → 0xC0400000 = −3;
    // 0x4049: e = 128, mantissa 73/128 → 2 · 201/128 = 3.140625.
    const codes = [0x3f80, 0xc040, 0x4049, 0x0000, 0x8000, 0x7f80, 0xff80];
    const expected = [1, -3, 3.140625, 0, -0, Infinity, -Infinity];
    const data = bytes(2 * codes.length, (dv) => codes.forEach((c, i) => dv.setUint16(2 * i, c, true)));
    const { tensors } = decodeSafetensors(build({ b: { dtype: 'BF16', shape: [7], data_offsets: [0, 14] } }, data), { allowNonFinite: true });
    expect(Array.from(tensors.b.data)).toEqual(expected);
    expect(Object.is(tensors.b.data[4], -0)).toBe(true);
  });

  it('F64 narrowed to float32 and I64 to int32, with two tensors and an offset', () => {
    const f64 = [-2.5, 1 / 3, 1e-3];
    const i64 = [0n, -1n, 123456789n, -2147483648n];
    const data = bytes(8 * 7, (dv) => {
      f64.forEach((x, i) => dv.setFloat64(8 * i, x, true));
      i64.forEach((x, i) => dv.setBigInt64(24 + 8 * i, x, true));
    });
    const header = {
      __metadata__: { source: 'hand' },
      d: { dtype: 'F64', shape: [3], data_offsets: [0, 24] },
      l: { dtype: 'I64', shape: [2, 2], data_offsets: [24, 56] },
    };
    const { tensors, metadata } = decodeSafetensors(build(header, data));
    expect(metadata).toEqual({ source: 'hand' });
    expect(tensors.d.data).toBeInstanceOf(Float32Array);
    expect(Array.from(tensors.d.data)).toEqual(f64.map(Math.fround));
    expect(tensors.l.data).toBeInstanceOf(Int32Array);
    expect(tensors.l.shape).toEqual([2, 2]);
    expect(Array.from(tensors.l.data)).toEqual([0, -1, 123456789, -2147483648]);
  });
});

describe('corrupt inputs fail naming the source', () => {
  const source = '/models/bert/model.safetensors';
  const good = encodeSafetensors({ W: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } });

  const fails = (file: Uint8Array, pattern: RegExp) => {
    const e = thrown(() => decodeSafetensors(file, source));
    expect(e).toBeInstanceOf(DistilleryError);
    expect((e as DistilleryError).code).toBe('checkpoint');
    expect(e.message).toContain(source);
    expect(e.message).toMatch(pattern);
  };

  it('a file shorter than the 8-byte length field', () => {
    fails(good.subarray(0, 5), /5 bytes/);
  });

  it('a truncated file (data cut short)', () => {
    fails(good.subarray(0, good.length - 4), /'W'.*do not fit/);
  });

  it('a header length larger than the file', () => {
    const copy = good.slice();
    new DataView(copy.buffer).setBigUint64(0, 1_000_000n, true);
    fails(copy, /header length 1000000 exceeds/);
  });

  it('a header that is not JSON', () => {
    const data = new Uint8Array(4);
    const file = build({}, data);
    file.set(new TextEncoder().encode('{oops'), 8);
    fails(file, /JSON header/);
  });

  it('offsets that do not match the shape', () => {
    const data = new Uint8Array(16);
    fails(build({ W: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, data), /'W'.*\[0, 12\].*do not fit/);
  });

  it('offsets past the end of the data', () => {
    const data = new Uint8Array(16);
    fails(build({ W: { dtype: 'F32', shape: [2, 2], data_offsets: [8, 24] } }, data), /'W'.*\[8, 24\]/);
  });

  it('a negative begin offset', () => {
    const data = new Uint8Array(16);
    fails(build({ W: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, data), /'W'/);
  });

  // Regression test (this was a bug, now fixed: io/safetensors.ts, decodeSafetensors, the destructuring `const [begin, end] = offsets` and
  // `shape.reduce`): a header entry without `data_offsets` (or without `shape`) throws a bare
  // TypeError ("offsets is not iterable") that names neither the file nor the tensor. Fix: check that
  // each entry is an object with a string dtype, an array of non-negative integer shape and a
  // two-number data_offsets before use, failing through fail(...) with the tensor name.
  it('a header entry without data_offsets fails naming the source', () => {
    const data = new Uint8Array(4);
    fails(build({ W: { dtype: 'F32', shape: [1] } }, data), /'W'/);
  });

  it('an unsupported dtype, naming it', () => {
    const data = new Uint8Array(4);
    fails(build({ q: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }, data), /'q'.*U8/);
  });
});
