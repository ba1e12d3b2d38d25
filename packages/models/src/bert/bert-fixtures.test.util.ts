// Shared fixtures of the BERT tests. Test-only (not packed: *.test.*).
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@distillery/core/kit';
import type { Batch, Feature } from '@distillery/core';
import type { BertModel } from './bert-model.js';
import type { RefParams } from './bert-reference.test.util.js';

/** vocab 50, hidden 16, 2 layers, 2 heads: small enough for the float64 loops. */
export const TINY = {
  vocab_size: 50, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24,
  max_position_embeddings: 12, type_vocab_size: 2, num_labels: 3,
};

/** Three rows of length 7, 5 and 3, padded with 0. */
export const IDS = [[2, 7, 9, 13, 4, 21, 3], [2, 33, 5, 8, 3, 0, 0], [2, 49, 3, 0, 0, 0, 0]];
export const MASK = IDS.map((row, i) => row.map((_, j) => (j < [7, 5, 3][i] ? 1 : 0)));
export const TYPES = [[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 0, 0], [0, 1, 1, 0, 0, 0, 0]];
/** Masked-LM targets at four tokens (none in the third example), −100 elsewhere. */
export const MLM_LABELS = [[-100, 3, -100, -100, 9, -100, -100], [11, -100, -100, 5, -100, -100, -100], [-100, -100, -100, -100, -100, -100, -100]];

/** The fixture batch as tensors; the caller disposes it. */
export function makeBatch(withTypes = true): Batch {
  return {
    inputIds: tf.tensor2d(IDS, undefined, 'int32'),
    attentionMask: tf.tensor2d(MASK, undefined, 'int32'),
    ...(withTypes ? { tokenTypeIds: tf.tensor2d(TYPES, undefined, 'int32') } : {}),
    labels: tf.tensor1d([0, 2, 1], 'int32'),
    mlmLabels: tf.tensor2d(MLM_LABELS, undefined, 'int32'),
  };
}

/** Gives every weight (LayerNorm and biases included) random values large enough to exercise every op. */
export function randomize(model: BertModel, seed = 1): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const [name, v] of model.weights) {
      const isNorm = name.includes('LayerNorm.weight');
      const scale = name.includes('_embeddings') ? 1 : isNorm || name.endsWith('.bias') ? 0.2 : 0.3;
      const values = Float32Array.from({ length: v.size }, () => (isNorm ? 1 : 0) + rng.normal() * scale);
      v.assign(tf.tensor(values, v.shape));
    }
  });
}

/** The model's weights as plain arrays, for the reference. */
export function paramsOf(model: BertModel): RefParams {
  const params: RefParams = new Map();
  for (const [name, v] of model.weights) params.set(name, { shape: [...v.shape], data: Array.from(v.dataSync()) });
  return params;
}

/**
 * Fails naming the first element off by more than tol · max(1, |expected|): absolute below 1,
 * relative above (masked scores sit near −10⁴, where float32 spacing is already 1e-3).
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const bound = tol * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tolerance ${bound})`);
    }
  }
}

/** float → IEEE binary16 bits, round to nearest even (written here, independent of core's decoder). */
export function floatToHalfBits(value: number): number {
  const f = new Float32Array([value]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    // subnormal half: shift the implicit 1 in, round to nearest even
    if (exp < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - exp;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return half;
}

/** IEEE binary16 bits → number. */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float → bfloat16 bits (round to nearest even), and back. */
export function floatToBf16Bits(value: number): number {
  const u = new Uint32Array(new Float32Array([value]).buffer)[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
export function bf16BitsToFloat(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0];
}

/** One tensor for writeSafetensors: values are stored in `dtype`. */
export interface RawTensor { dtype: 'F32' | 'F16' | 'BF16' | 'I64'; shape: number[]; values: ArrayLike<number> }

/** A safetensors file written by hand (core's encoder writes F32/I32 only). */
export function writeSafetensors(tensors: Record<string, RawTensor>, metadata = { format: 'pt' }): Uint8Array {
  const size = { F32: 4, F16: 2, BF16: 2, I64: 8 };
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.values.length * size[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.values.length; i++) {
      const v = t.values[i];
      switch (t.dtype) {
        case 'F32': view.setFloat32(pos, v, true); pos += 4; break;
        case 'F16': view.setUint16(pos, floatToHalfBits(v), true); pos += 2; break;
        case 'BF16': view.setUint16(pos, floatToBf16Bits(v), true); pos += 2; break;
        case 'I64': view.setBigInt64(pos, BigInt(v), true); pos += 8; break;
      }
    }
  }
  return out;
}

/** Every requested feature's values, one array per tensor in output order; nothing is left alive. */
export function featureValues(model: BertModel, batch: Batch, features: ReadonlySet<Feature>): number[][] {
  const out = model.forward(batch, features);
  const tensors = Object.values(out).flatMap((t) => (Array.isArray(t) ? t : [t])) as tf.Tensor[];
  const values = tensors.map((t) => Array.from(t.dataSync()));
  tf.dispose(tensors);
  return values;
}
