#!/usr/bin/env node
// The `distillery` command. This file exists before the build, so `npm ci` links it into
// node_modules/.bin (npm skips a bin whose target is not there yet); it runs the built CLI.
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist')) {
    console.error('distillery: @distillery/cli is not built yet; run `npm run build` first');
    process.exit(2);
  }
  throw error;
}
