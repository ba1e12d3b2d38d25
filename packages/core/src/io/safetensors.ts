import { DistilleryError } from '../errors.js';
import { describeValue } from '../schema/issues.js';

/** Element types read from safetensors; F16, BF16 and F64 are widened/narrowed to float32 on read. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64';

/** One tensor as stored: float32 or int32 data in row-major order. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };

/**
 * Encodes tensors in the safetensors format: 8-byte little-endian header length, a JSON header
 * (`{ name: { dtype, shape, data_offsets } }`, optional `__metadata__` of strings), padded with
 * spaces to 8 bytes, then the raw little-endian data.
 */
export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const { shape, data } = tensors[name];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new DistilleryError(
        `safetensors: tensor '${name}' has shape [${shape.join(', ')}] (${count} elements) but ${data.length} values`, 'shape');
    }
    const dtype = data instanceof Int32Array ? 'I32' : 'F32';
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json);
  const padded = Math.ceil(raw.length / 8) * 8;
  json += ' '.repeat(padded - raw.length);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    // Typed arrays are little-endian on every platform Node runs on.
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}

/** How decodeSafetensors reads a file. */
export interface DecodeSafetensorsOptions {
  /** Names the file in errors. @default 'safetensors' */
  source?: string;
  /** Accept NaN and ±Infinity in float tensors instead of failing on the first one. @default false */
  allowNonFinite?: boolean;
}

/** The largest header read, as the Rust crate's MAX_HEADER_SIZE: a longer one is a damaged length field. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * Decodes a safetensors buffer, validating it as the Rust crate does before reading any value: the
 * header length lies inside the file, the header is a UTF-8 JSON object, every tensor has a known
 * dtype, a shape of non-negative integers and `data_offsets` [begin, end] whose span is exactly its
 * size, and the tensors tile the data section (sorted by offset: no gap, no overlap, nothing left
 * over). Values are then checked: I64 must fit int32, float tensors must be finite unless
 * `allowNonFinite`. Every failure is a DistilleryError ('checkpoint') naming the source and the tensor.
 * A string for `options` is the source.
 */
export function decodeSafetensors(bytes: Uint8Array, options: string | DecodeSafetensorsOptions = {}): {
  tensors: Record<string, StoredTensor>; metadata: Record<string, string>;
} {
  const { source = 'safetensors', allowNonFinite = false } = typeof options === 'string' ? { source: options } : options;
  const fail = (why: string, cause?: unknown) =>
    new DistilleryError(`${source}: ${why}`, 'checkpoint', cause === undefined ? undefined : { cause });
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawLength = view.getBigUint64(0, true);
  if (rawLength === 0n) throw fail('header length is 0 (expected the length of a JSON header)');
  if (rawLength > BigInt(bytes.length - 8)) {
    const signed = rawLength >= 1n << 63n ? ` (${rawLength - (1n << 64n)} as a signed integer)` : '';
    throw fail(`header length ${rawLength}${signed} exceeds the file size ${bytes.length}`);
  }
  if (rawLength > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw fail(`header length ${rawLength} is over the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit on safetensors headers`);
  }
  const headerLength = Number(rawLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw fail(`the JSON header does not parse: ${(cause as Error).message}`, cause);
  }
  if (!isRecord(header)) throw fail(`the JSON header is ${brief(header)}, not an object of tensors`);
  const metadata = readMetadata(header.__metadata__, fail);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries: Entry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name !== '__metadata__') entries.push(readEntry(name, entry, dataLength, fail));
  }
  checkTiling(entries, dataLength, fail);
  const tensors: Record<string, StoredTensor> = {};
  for (const e of entries) {
    const data = readData(e, bytes, dataStart, fail);
    if (!allowNonFinite && data instanceof Float32Array) checkFinite(e, data, fail);
    tensors[e.name] = { shape: e.shape, data };
  }
  return { tensors, metadata };
}

type Fail = (why: string, cause?: unknown) => DistilleryError;
interface Entry { name: string; dtype: SafetensorsDtype; shape: number[]; count: number; begin: number; end: number }

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A tensor name for messages, in quotes, cut short when long. */
const quoted = (name: string) => `'${name.length > 80 ? `${name.slice(0, 77)}...` : name}'`;

/** A short, bounded description of a value from the header (never its whole text). */
function brief(value: unknown): string {
  const scalar = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  const text = Array.isArray(value) && value.length <= 8 && value.every((x) => x === null || typeof x !== 'object')
    ? `[${value.map(scalar).join(', ')}]`
    : describeValue(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function readMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw fail(`__metadata__ is ${brief(value)}, expected an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`__metadata__ key ${brief(key)} is ${brief(v)}, expected a string`);
  }
  return { ...value } as Record<string, string>;
}

/** Validates one header entry; the data it points at must lie inside the data section. */
function readEntry(name: string, entry: unknown, dataLength: number, fail: Fail): Entry {
  const tensor = `tensor ${quoted(name)}`;
  if (name === '__proto__') throw fail(`${tensor} is not an allowed tensor name`);
  if (!isRecord(entry)) throw fail(`${tensor} is ${brief(entry)}, expected { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
    throw fail(`${tensor} has unsupported dtype ${brief(dtype)} (this reader takes ${Object.keys(BYTES).join(', ')})`);
  }
  const width = BYTES[dtype as SafetensorsDtype];
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw fail(`${tensor} has no valid shape: expected a list of non-negative integers, got ${brief(shape)}`);
  }
  // Stop multiplying once past the data section: the product of a hostile shape can exceed any integer.
  let count = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of count ? shape as number[] : []) {
    count *= d;
    if (count * width > dataLength) {
      throw fail(`${tensor} (${dtype} [${shape.join(', ')}]): its values do not fit the ${dataLength}-byte data section ` +
        '(the file is truncated?)');
    }
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o))) {
    throw fail(`${tensor} has no valid data_offsets: expected [begin, end] integers, got ${brief(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const what = `${tensor} (${dtype} [${shape.join(', ')}], ${count * width} bytes)`;
  if (begin < 0 || end < begin) throw fail(`${what} has data_offsets [${begin}, ${end}]: expected 0 <= begin <= end`);
  if (end - begin !== count * width) {
    throw fail(`${what} has data_offsets [${begin}, ${end}] that do not fit: they span ${end - begin} bytes`);
  }
  if (end > dataLength) {
    throw fail(`${what} has data_offsets [${begin}, ${end}] that do not fit the data section (${dataLength} bytes; the file is truncated?)`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], count, begin, end };
}

/** Sorted by offset, the tensors must cover the data section exactly once (as the Rust crate requires). */
function checkTiling(entries: Entry[], dataLength: number, fail: Fail): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < at) {
      throw fail(`tensor ${quoted(e.name)} at data_offsets [${e.begin}, ${e.end}] overlaps tensor ${quoted(previous!.name)} ` +
        `at [${previous!.begin}, ${previous!.end}] (data_offsets must tile the data section)`);
    }
    if (e.begin > at) {
      throw fail(`bytes [${at}, ${e.begin}) of the data section belong to no tensor (a gap before tensor ${quoted(e.name)}; ` +
        'data_offsets must be contiguous)');
    }
    at = e.end;
    previous = e;
  }
  if (at !== dataLength) {
    throw fail(`the data section has ${dataLength} bytes but the tensors cover ${at} (${dataLength - at} trailing bytes belong to no tensor)`);
  }
}

function readData(e: Entry, bytes: Uint8Array, dataStart: number, fail: Fail): Float32Array | Int32Array {
  const { dtype, count } = e;
  const offset = bytes.byteOffset + dataStart + e.begin;
  // Typed arrays are little-endian on every platform Node runs on: aligned F32/I32 data is copied as is.
  if ((dtype === 'F32' || dtype === 'I32') && offset % 4 === 0) {
    return dtype === 'F32' ? new Float32Array(new Float32Array(bytes.buffer, offset, count))
      : new Int32Array(new Int32Array(bytes.buffer, offset, count));
  }
  const dv = new DataView(bytes.buffer, offset, e.end - e.begin);
  switch (dtype) {
    case 'F32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getFloat32(i * 4, true); return a; }
    case 'F64': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getFloat64(i * 8, true); return a; }
    case 'F16': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = halfToFloat(dv.getUint16(i * 2, true)); return a; }
    case 'BF16': {
      const a = new Float32Array(count);
      const u = new Uint32Array(a.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return a;
    }
    case 'I32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getInt32(i * 4, true); return a; }
    case 'I64': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw fail(`tensor ${quoted(e.name)} (I64 [${e.shape.join(', ')}]) holds ${v} at index ${i}${coordinates(e.shape, i)}, ` +
            'which does not fit int32 (integers are read as int32)');
        }
        a[i] = Number(v);
      }
      return a;
    }
  }
}

/** Fails on the first NaN or ±Infinity (F64 values beyond float32's range become ±Infinity on narrowing). */
function checkFinite(e: Entry, data: Float32Array, fail: Fail): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    let bad = 0;
    for (let j = i; j < data.length; j++) if (!Number.isFinite(data[j])) bad++;
    const narrowed = e.dtype === 'F64' && !Number.isNaN(data[i]) ? ' (as float32)' : '';
    throw fail(`tensor ${quoted(e.name)} (${e.dtype} [${e.shape.join(', ')}]) holds ${data[i]}${narrowed} at index ${i}` +
      `${coordinates(e.shape, i)}, ${bad} non-finite value(s) in all; non-finite weights are refused ` +
      '(pass allowNonFinite to read them)');
  }
}

/** ' [1, 2]': the position of flat index `i` in `shape`, for tensors of rank 2 or more. */
function coordinates(shape: readonly number[], i: number): string {
  if (shape.length < 2) return '';
  const at: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) { at.unshift(i % shape[k]); i = Math.floor(i / shape[k]); }
  return ` [${at.join(', ')}]`;
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
