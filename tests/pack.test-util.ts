// Packed installs for the tests under tests/: the workspaces' tarballs installed into an empty app
// folder, as a user would get them from the registry (third-party dependencies come from the npm cache
// or the registry; @distillery/* only from the tarballs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs npm quietly in `cwd`; returns its stdout. */
export const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

/** A packed install: the folder holding the tarballs, their file names, and the app they are installed in. */
export interface PackedInstall {
  dir: string;
  tarballs: string[];
  app: string;
  /** Removes the whole folder. */
  cleanup(): void;
}

/**
 * Packs `packages/<name>` for each name (each must be built: its dist/ is what is packed) into a fresh
 * temporary folder and installs all the tarballs together into an empty ESM app there.
 */
export function packAndInstall(names: readonly string[]): PackedInstall {
  for (const name of names) {
    if (!existsSync(path.join(ROOT, 'packages', name, 'dist', 'index.js'))) throw new Error(`packages/${name}/dist is missing: run npm run build`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distillery-pack-'));
  try {
    return install(names, dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function install(names: readonly string[], dir: string): PackedInstall {
  npm(['pack', ...names.flatMap((n) => ['-w', `@distillery/${n}`]), '--pack-destination', dir], ROOT);
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort();
  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // Peer dependencies (@tensorflow/tfjs-core) are installed by npm itself; optional peers are not.
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((t) => path.join(dir, t))], app);
  return { dir, tarballs, app, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
