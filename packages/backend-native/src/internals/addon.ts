import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled addon's functions (native/addon.cc). Offsets are byte offsets into `heap`. */
export interface NativeAddon {
  gemm(heap: ArrayBuffer, aOffset: number, bOffset: number, cOffset: number, batch: number, m: number, n: number,
    k: number, transposeA: boolean, transposeB: boolean, aBatches: number, bBatches: number,
    aIndex: Int32Array | null, bIndex: Int32Array | null): void;
  reduceSum(heap: ArrayBuffer, xOffset: number, outOffset: number, p: number, r: number, q: number, mean: boolean): void;
  unary(op: number, heap: ArrayBuffer, xOffset: number, outOffset: number, n: number): void;
  binary(op: number, heap: ArrayBuffer, aOffset: number, bOffset: number, outOffset: number, dims: Int32Array): void;
  compare(op: number, heap: ArrayBuffer, aOffset: number, bOffset: number, outOffset: number, dims: Int32Array): void;
  select(heap: ArrayBuffer, conditionOffset: number, tOffset: number, eOffset: number, outOffset: number, n: number): void;
  gather(heap: ArrayBuffer, xOffset: number, indicesOffset: number, outOffset: number, outer: number,
    axisSize: number, nIndices: number, inner: number): number;
  transpose(heap: ArrayBuffer, xOffset: number, outOffset: number, dims: Int32Array): void;
  setThreads(threads: number): void;
  info(): { threads: number; blasCore: string; blasConfig: string };
}

/** The package root: this file is src/internals/addon.ts or dist/internals/addon.js. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where a built addon may be, in the order node-gyp-build looks: local builds, then prebuilds. */
export function addonCandidates(root = packageRoot): string[] {
  const found: string[] = [];
  for (const dir of ['build/Release', 'build/Debug', `prebuilds/${process.platform}-${process.arch}`]) {
    const full = path.join(root, dir);
    if (!existsSync(full)) continue;
    for (const file of readdirSync(full).sort()) if (file.endsWith('.node')) found.push(path.join(full, file));
  }
  return found;
}

type Loaded = { addon: NativeAddon; file: string } | { error: string };

/** Loads the addon built under `root` (not cached); on failure, says why (never throws). */
export function loadAddonFrom(root: string): Loaded {
  const candidates = addonCandidates(root);
  if (candidates.length === 0) {
    return {
      error: `the addon is not built (no build/Release/*.node under ${root}; ` +
        'run `npm run build:native -w @distillery/backend-native`, which needs libopenblas-dev, g++, make and python3)',
    };
  }
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const file of candidates) {
    try {
      return { addon: require(file) as NativeAddon, file };
    } catch (error) {
      failures.push(`${path.relative(root, file)}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { error: `the addon failed to load (${failures.join('; ')})` };
}

let cached: Loaded | undefined;

/** Loads this package's addon once (DISTILLERY_NATIVE=0 turns it off); on failure, says why. */
export function loadAddon(): Loaded {
  if (process.env.DISTILLERY_NATIVE === '0') return { error: 'disabled by DISTILLERY_NATIVE=0' };
  return (cached ??= loadAddonFrom(packageRoot));
}
