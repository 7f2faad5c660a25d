// The allowed direction of imports between the project's layers (drawn in docs/architecture.md).
// Checked by `npm run check:layers`, which `npm test` runs before the tests. Type-only imports count
// too: a layer that names another's types depends on it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'runtime-is-host-independent',
      comment: 'Nothing under runtime/ imports vscode (or the extension and panels built on it): the CLI and the workers run it without VS Code.',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^(vscode$|node_modules/@types/vscode/|extension/|webview/)' },
    },
    {
      name: 'vscode-only-in-the-extension',
      comment: 'Only the extension talks to the VS Code API; the panels reach it through their message protocol.',
      severity: 'error',
      from: { path: '^(?!extension/)', pathNot: '^test/' },
      to: { path: '^(vscode$|node_modules/@types/vscode/)' },
    },
    {
      name: 'extension-through-the-api',
      comment: 'The extension and the panels see the runtime through runtime/api.ts (types and pure helpers). The implementation (runtime/index.ts) is loaded lazily in one place, extension/runtime-port.ts.',
      severity: 'error',
      from: { path: '^(extension|webview)/', pathNot: '^extension/runtime-port\\.ts$' },
      to: { path: '^runtime/', pathNot: '^runtime/api\\.ts$' },
    },
    {
      name: 'runtime-port-loads-the-runtime',
      comment: 'runtime-port.ts reaches the runtime through its two doors only: the api and, lazily, index.ts.',
      severity: 'error',
      from: { path: '^extension/runtime-port\\.ts$' },
      to: { path: '^runtime/', pathNot: '^runtime/(api|index)\\.ts$' },
    },
    {
      name: 'api-is-bundle-safe',
      comment: 'runtime/api.ts is bundled into the webview: apart from types it re-exports only pure modules (no Node, no SDK).',
      severity: 'error',
      from: { path: '^runtime/api\\.ts$' },
      to: { path: '.', pathNot: '^runtime/util/format\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'format-is-pure',
      comment: 'runtime/util/format.ts runs in the webview too: it imports nothing.',
      severity: 'error',
      from: { path: '^runtime/util/format\\.ts$' },
      to: { path: '.' },
    },
    {
      name: 'storage-below-data',
      comment: 'storage/ moves bytes; it does not know datasets (manifests, partitions) or anything above it.',
      severity: 'error',
      from: { path: '^runtime/storage/' },
      to: { path: '^runtime/(data|driver|worker|preprocess|tuning|recording|backends|models|ps|predict|cost|config|cli|index|api)' },
    },
    {
      name: 'data-below-the-stages',
      comment: 'data/ (formats, dataset identity, manifests, transforms) is used by the stages, never the reverse.',
      severity: 'error',
      from: { path: '^runtime/data/' },
      to: { path: '^runtime/(driver|worker|preprocess|tuning|recording|backends|ps|predict|cli|index)' },
    },
    {
      name: 'worker-is-self-contained',
      comment: 'The worker bundle holds data, models, ps client, storage and util only: no driver, no preprocess stage, no backends.',
      severity: 'error',
      from: { path: '^runtime/worker/' },
      to: { path: '^runtime/(driver|preprocess|tuning|recording|backends|cost|predict|cli|index|config)' },
    },
    {
      name: 'recording-is-a-leaf-of-the-stages',
      comment: 'Run recording (events, run folder, summary) is used by training, sweeps and preprocessing; it imports none of them.',
      severity: 'error',
      from: { path: '^runtime/recording/' },
      to: { path: '^runtime/(driver|tuning|preprocess|worker|backends|cli|index)' },
    },
    {
      name: 'train-stage-and-worker-slots-apart',
      comment: 'The train stage drives the worker slots; their shared types live in stage-types.ts, so neither imports the other.',
      severity: 'error',
      from: { path: '^runtime/driver/worker-slots\\.ts$' },
      to: { path: '^runtime/driver/train-stage\\.ts$' },
    },
    {
      name: 'stages-use-the-driver-whole',
      comment: 'Sweeps and preprocessing start trainings (driver/run.ts) and load datasets (driver/load-stage.ts); the rest of the driver is its own business.',
      severity: 'error',
      from: { path: '^runtime/(tuning|preprocess)/' },
      to: { path: '^runtime/driver/', pathNot: '^runtime/driver/(run|load-stage)\\.ts$' },
    },
    {
      name: 'sweeps-and-preprocessing-above-training',
      comment: 'The driver (one training run) does not reach up into sweeps or preprocessing.',
      severity: 'error',
      from: { path: '^runtime/driver/' },
      to: { path: '^runtime/(tuning|preprocess|cli)/' },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles hide which layer owns what. Cycles through type-only imports are allowed: the internals name the types that runtime/api.ts declares for them.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
  },
};
