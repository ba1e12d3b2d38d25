// The package boundaries of .dependency-cruiser.cjs (checked over the repository by `npm run lint`):
// each rule catches its violation in a small fixture repository laid out like this one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './pack.test-util.js';

const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/**
 * Runs dependency-cruiser with the repository's rules over `dirs` in `cwd`, as `npm run lint` does;
 * returns its exit code and the violations it printed (`rule: from -> to`).
 */
function cruise(cwd: string, dirs: string[]): { code: number | null; violations: string[] } {
  const r = spawnSync(process.execPath, [DEPCRUISE, ...dirs, '--config', CONFIG], { cwd, encoding: 'utf8' });
  const violations = [...r.stdout.matchAll(/^\s*error ([\w-]+): (\S+) → (\S+)$/gm)].map(([, rule, from, to]) => `${rule}: ${from} -> ${to}`);
  return { code: r.status, violations: violations.sort() };
}

const fixture = mkdtempSync(path.join(os.tmpdir(), 'distillery-boundaries-'));
afterAll(() => rmSync(fixture, { recursive: true, force: true }));
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(fixture, file)), { recursive: true });
  writeFileSync(path.join(fixture, file), text);
};

describe('package boundaries (.dependency-cruiser.cjs)', () => {
  it('each rule reports its violation, and tests may reach further', () => {
    write('tsconfig.json', JSON.stringify({ compilerOptions: {
      module: 'NodeNext', moduleResolution: 'NodeNext', paths: { '@distillery/*': ['./packages/*/src/index.ts'] },
    } }));
    write('node_modules/tsyringe/package.json', JSON.stringify({ name: 'tsyringe', main: 'index.js' }));
    write('node_modules/tsyringe/index.js', 'export const container = {};\n');
    write('packages/core/src/index.ts', "import { container } from 'tsyringe';\nimport { hinton } from '@distillery/loss-hinton';\nexport { container, hinton };\n");
    write('packages/core/src/e2e.test.ts', "import { hinton } from '@distillery/loss-hinton';\nexport { hinton };\n");
    write('packages/core/src/backend.ts', "import type { X } from '@distillery/backend-native';\nexport type Y = X;\n");
    write('packages/loss-hinton/src/index.ts', "import { container } from '@distillery/core';\nimport { bert } from '@distillery/models';\n" +
      'export const hinton = { container, bert };\n');
    write('packages/loss-hinton/src/hinton.test.ts', "import { text } from '@distillery/data';\nexport { text };\n");
    write('packages/loss-pkd/src/index.ts', "import { text } from '@distillery/data';\nexport const pkd = text;\n");
    write('packages/models/src/index.ts', "import { container } from 'tsyringe';\nexport const bert = container;\n");
    write('packages/data/src/index.ts', 'export const text = 1;\n');
    write('packages/backend-native/src/index.ts', 'export type X = number;\n');
    expect(cruise(fixture, ['packages'])).toEqual({
      code: 5,
      violations: [
        'core-imports-no-other-package: packages/core/src/backend.ts -> packages/backend-native/src/index.ts',
        'core-imports-no-other-package: packages/core/src/index.ts -> packages/loss-hinton/src/index.ts',
        'loss-imports-no-models-or-data: packages/loss-hinton/src/index.ts -> packages/models/src/index.ts',
        'loss-imports-no-models-or-data: packages/loss-pkd/src/index.ts -> packages/data/src/index.ts',
        'only-core-imports-tsyringe: packages/models/src/index.ts -> node_modules/tsyringe/index.js',
      ],
    });
  }, 120_000);
});
