// npm `install` script: builds the addon with node-gyp and never fails the install. Without a
// compiler or OpenBLAS the package still installs, and enableNativeKernels() says why it is off.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const log = (m) => console.log(`[distillery] @distillery/backend-native: ${m}`);

if (process.env.DISTILLERY_NATIVE === '0') {
  log('not building the native kernels (DISTILLERY_NATIVE=0); Distillery uses the plain kernels');
  process.exit(0);
}

// Like node-gyp-build: an addon built from the current sources is kept (every `npm install` in the
// workspace runs this script); `--force` (npm run build:native) rebuilds anyway.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'build', 'Release', 'distillery_native.node');
const sources = [path.join(root, 'binding.gyp'), ...readdirSync(path.join(root, 'native')).map((f) => path.join(root, 'native', f))];
if (!process.argv.includes('--force') && existsSync(built)
  && sources.every((f) => statSync(f).mtimeMs <= statSync(built).mtimeMs)) {
  log('native kernels already built from these sources (npm run build:native -w @distillery/backend-native rebuilds)');
  process.exit(0);
}

const args = ['rebuild'];
// Node's own headers, when installed next to it (Debian's nodejs, nodesource, the official tarballs), so
// that node-gyp does not need to download them; npm's `nodedir` setting wins when set.
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
// npm hands its bundled node-gyp to lifecycle scripts; run directly, look for npm's next to node, then PATH.
const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
const result = gyp && existsSync(gyp)
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
  : spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });

if (result.status === 0) {
  log('native kernels built');
} else {
  const hints = [];
  if (process.platform === 'linux') {
    const has = (cmd, argv) => spawnSync(cmd, argv, { stdio: 'ignore' }).status === 0;
    if (!has('c++', ['--version'])) hints.push('no C++ compiler (apt-get install -y g++ make)');
    const libs = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
    if (!/libopenblas\.so \(/.test(libs)) hints.push('no OpenBLAS development library (apt-get install -y libopenblas-dev)');
  }
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  log(`native kernels not built: ${why}${hints.length ? `; ${hints.join('; ')}` : ' (see the output above)'}. ` +
    'Distillery runs on the plain kernels.');
}
process.exit(0);
