import { describe, expect, it } from 'vitest';
import { Rng } from '@distillery/core/kit';

/**
 * Reference xoshiro128** (Blackman & Vigna) in BigInt arithmetic, reduced mod 2^32 explicitly,
 * so it shares no 32-bit-integer tricks (Math.imul, >>> 0, Uint32Array wrap) with the implementation.
 */
const M32 = (1n << 32n) - 1n;
const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M32;
function refXoshiro(state: number[], count: number): number[] {
  let [s0, s1, s2, s3] = state.map(BigInt);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s1 * 5n) & M32, 7n) * 9n) & M32));
    const t = (s1 << 9n) & M32;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11n);
  }
  return out;
}

/** Reference seeding: four outputs of splitmix32 (golden-ratio increment, murmur3 fmix32 finalizer). */
function refSeed(seed: number): number[] {
  let x = BigInt(seed >>> 0);
  const s: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9n) & M32;
    let z = x;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M32;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M32;
    s.push(Number(z ^ (z >> 16n)));
  }
  return s;
}

const take = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

describe('Rng', () => {
  it('is xoshiro128** from a given state (BigInt reference)', () => {
    const state = [0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321];
    expect(take(new Rng(state), 50)).toEqual(refXoshiro(state, 50));
  });

  it('hand-checked first output from state [1, 2, 3, 4]', () => {
    // result = rotl(s1 · 5, 7) · 9 = rotl(10, 7) · 9 = 1280 · 9 = 11520.
    expect(new Rng([1, 2, 3, 4]).nextUint32()).toBe(11520);
  });

  it('a numeric seed is expanded by splitmix32 into the state', () => {
    for (const seed of [0, 1, 42, 123456789, 0xffffffff]) {
      expect(new Rng(seed).getState()).toEqual(refSeed(seed));
      expect(take(new Rng(seed), 10)).toEqual(refXoshiro(refSeed(seed), 10));
    }
  });

  it('is deterministic: the same seed gives the same sequence', () => {
    const a = new Rng(7), b = new Rng(7);
    expect(take(a, 200)).toEqual(take(b, 200));
    expect(new Rng(7).next()).toBe(new Rng(7).next());
  });

  it('different seeds give different sequences', () => {
    const seqs = [1, 2, 3, 42, 43].map((s) => take(new Rng(s), 8).join(','));
    expect(new Set(seqs).size).toBe(5);
    // Not just shifted copies: no shared values among the first outputs of seeds 1 and 2.
    const a = new Set(take(new Rng(1), 100));
    expect(take(new Rng(2), 100).filter((x) => a.has(x))).toEqual([]);
  });

  it('getState/setState resumes the same sequence, and the state is a copy', () => {
    const a = new Rng(99);
    take(a, 37);
    a.normal(); a.shuffle([1, 2, 3]);
    const saved = a.getState();
    const expected = take(a, 50);
    const b = new Rng(1);
    b.setState(saved);
    expect(take(b, 50)).toEqual(expected);
    expect(take(new Rng(saved), 50)).toEqual(expected);
    // Mutating the returned array does not touch the generator.
    const c = new Rng(5);
    const s = c.getState();
    const next = take(new Rng(s), 3);
    s[0] ^= 1;
    expect(take(c, 3)).toEqual(next);
  });

  it('setState rejects anything but four 32-bit unsigned integers', () => {
    const r = new Rng(1);
    expect(() => r.setState([1, 2, 3])).toThrow(/four 32-bit/);
    expect(() => r.setState([1, 2, 3, -1])).toThrow(/four 32-bit/);
    expect(() => r.setState([1, 2, 3, 2 ** 32])).toThrow(/four 32-bit/);
    expect(() => r.setState([1, 2, 3, 0.5])).toThrow(/four 32-bit/);
  });

  it('an all-zero initial state is replaced (xoshiro would emit zeros forever)', () => {
    const r = new Rng([0, 0, 0, 0]);
    expect(take(r, 10).some((x) => x !== 0)).toBe(true);
  });

  it('next() is nextUint32 / 2^32, in [0, 1); int(n) is in [0, n)', () => {
    const state = new Rng(3).getState();
    const ref = refXoshiro(state, 1000);
    const r = new Rng(state);
    for (let i = 0; i < 1000; i++) {
      const x = r.next();
      expect(x).toBe(ref[i] / 4294967296);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    const r2 = new Rng(state);
    for (let i = 0; i < 1000; i++) expect(r2.int(6)).toBe(Math.floor((ref[i] / 4294967296) * 6));
  });

  it('int(n) is roughly uniform (chi-square, loose bound)', () => {
    const r = new Rng(2024);
    const counts = new Array(10).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[r.int(10)] += 1;
    const e = n / 10;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    // 9 degrees of freedom: P(chi2 > 33.7) ≈ 1e-4.
    expect(chi2).toBeLessThan(33.7);
  });

  it('shuffle is a permutation, in place, deterministic, and not the identity', () => {
    const original = Array.from({ length: 50 }, (_, i) => i);
    const a = [...original];
    const returned = new Rng(11).shuffle(a);
    expect(returned).toBe(a);
    expect([...a].sort((x, y) => x - y)).toEqual(original);
    expect(a).not.toEqual(original);
    expect(new Rng(11).shuffle([...original])).toEqual(a);
    expect(new Rng(12).shuffle([...original])).not.toEqual(a);
    expect(new Rng(1).shuffle([])).toEqual([]);
    expect(new Rng(1).shuffle(['x'])).toEqual(['x']);
  });

  it('shuffle puts every element everywhere about equally often (Fisher-Yates is unbiased)', () => {
    // 3 elements, 6 permutations, 12000 shuffles: each about 2000.
    const r = new Rng(77);
    const counts = new Map<string, number>();
    for (let i = 0; i < 12000; i++) {
      const key = r.shuffle([0, 1, 2]).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 2000)).toBeLessThan(250);
  });

  it('Rng.derive: deterministic, independent of other generators, distinct per label', () => {
    const a1 = take(Rng.derive(42, 'shuffle', 0), 20);
    // Consuming other generators (even of the same seed) does not change a derived stream.
    const other = new Rng(42);
    take(other, 1000);
    take(Rng.derive(42, 'dropout'), 1000);
    expect(take(Rng.derive(42, 'shuffle', 0), 20)).toEqual(a1);

    const streams = [
      Rng.derive(42, 'shuffle', 0), Rng.derive(42, 'shuffle', 1), Rng.derive(42, 'dropout'), Rng.derive(43, 'shuffle', 0),
      Rng.derive(42, 'ab'), Rng.derive(42, 'a', 'b'), new Rng(42),
    ].map((r) => take(r, 6).join(','));
    // (Rng.derive(42) with no labels is the root stream new Rng(42) itself, so it is not listed.)
    expect(new Set(streams).size).toBe(streams.length);
  });

  it('normal(): mean ≈ 0, variance ≈ 1, ~68.3 % within ±1 over 20k samples', () => {
    const r = new Rng(31337);
    const n = 20000;
    let sum = 0, sumSq = 0, within = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      expect(Number.isFinite(x)).toBe(true);
      sum += x; sumSq += x * x;
      if (Math.abs(x) <= 1) within += 1;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard errors: mean 1/√n ≈ 0.007, variance √(2/n) ≈ 0.01, fraction √(p(1−p)/n) ≈ 0.0033.
    expect(Math.abs(mean)).toBeLessThan(0.035);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(Math.abs(within / n - 0.6827)).toBeLessThan(0.017);
  });
});
