// Package boundaries, checked by `npm run lint` (dependency-cruiser) and by .ci/run.
// @distillery/* imports resolve to the packages' sources through tsconfig.json's paths, so the rules
// see packages/<name>/src/...; the node_modules forms catch an import that resolves past the paths.

/** The resolved forms of an import of the packages named by `names` (a regex alternative). */
const distillery = (names) => [`^packages/(${names})/`, `(^|/)node_modules/@distillery/(${names})(/|$)`];

/** Tests and their helpers: they may reach further than the package's own code. */
const TESTS = '\\.test(-util)?\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-other-package',
      comment: 'Core holds the contracts: plugins, models, data, the CLI and backend extensions (native kernels) ' +
        'depend on it, never the reverse. Backend extensions are handed to selectBackend from outside.',
      severity: 'error',
      from: { path: '^packages/core/src/', pathNot: TESTS },
      to: { path: distillery('[^/]+'), pathNot: distillery('core') },
    },
    {
      name: 'loss-imports-no-models-or-data',
      comment: 'A loss works on ModelOutputs and Batch from core; it does not know how models or data are built ' +
        '(its tests may use them).',
      severity: 'error',
      from: { path: '^packages/loss-[^/]+/src/', pathNot: TESTS },
      to: { path: distillery('models|data') },
    },
    {
      name: 'only-core-imports-tsyringe',
      comment: 'Dependency injection is core\'s business: a plugin is a plain object.',
      severity: 'error',
      from: { pathNot: '^packages/core/' },
      to: { path: '(^|/)node_modules/tsyringe/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^packages/[^/]+/(dist|build|native)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
