import { DistilleryError } from '../errors.js';

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

/** Decodes a safetensors buffer; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): {
  tensors: Record<string, StoredTensor>; metadata: Record<string, string>;
} {
  const fail = (why: string) => new DistilleryError(`${source}: ${why}`, 'checkpoint');
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw fail(`header length ${headerLength} exceeds the file size ${bytes.length}`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw new DistilleryError(`${source}: the JSON header does not parse`, 'checkpoint', { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw fail(`the JSON header is ${JSON.stringify(header)}, not an object of tensors`);
  }
  const dataStart = 8 + headerLength;
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw fail(`tensor '${name}' has unsupported dtype ${dtype}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw fail(`tensor '${name}' has no valid shape (got ${JSON.stringify(shape)})`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isInteger(o))) {
      throw fail(`tensor '${name}' has no valid data_offsets (got ${JSON.stringify(offsets)})`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * BYTES[dtype] || dataStart + end > bytes.length || begin < 0) {
      throw fail(`tensor '${name}' (${dtype} [${shape.join(', ')}]) has data offsets [${begin}, ${end}] that do not fit`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    tensors[name] = { shape: [...shape], data: readData(dtype, dv, count) };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

function readData(dtype: SafetensorsDtype, dv: DataView, count: number): Float32Array | Int32Array {
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
        if (v > 2147483647n || v < -2147483648n) throw new RangeError(`I64 value ${v} at element ${i} does not fit int32`);
        a[i] = Number(v);
      }
      return a;
    }
  }
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
