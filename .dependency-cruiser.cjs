/**
 * Layering of echolot (docs/architecture.md): a module may import its own layer and the layers
 * below it, never one above, and no import cycle is allowed. Lowest first:
 *   core      harness/core, harness/protocol, harness/errors.ts, harness/version.ts
 *   net       harness/net                      (sockets, the native module, host capabilities)
 *   target    harness/target, reference-server (acquiring the server under test)
 *   measure   harness/probes, harness/testhost, harness/results
 *   model     harness/conformance, harness/load (the case model and the load engine)
 *   catalogue suites                          (the conformance cases and the load gates)
 *   run       harness/check, harness/runner    (running a catalogue under mocha)
 *   render    harness/reporters                (pure renderers)
 *   write     harness/report                   (the one report writer)
 *   compose   harness/matrix
 *   cli       harness/cli, harness/index.ts
 * Tests, bench and scripts may import anything.
 */
const LAYERS = [
  ['core', '^harness/(core|protocol)/|^harness/(errors|version)\\.ts$'],
  ['net', '^harness/net/'],
  ['target', '^harness/target/|^reference-server/'],
  ['measure', '^harness/(probes|testhost|results)/'],
  ['model', '^harness/(conformance|load)/'],
  ['catalogue', '^suites/'],
  ['run', '^harness/(check|runner)/'],
  ['render', '^harness/reporters/'],
  ['write', '^harness/report/'],
  ['compose', '^harness/matrix/'],
  ['cli', '^harness/cli/|^harness/index\\.ts$'],
];

/** One rule per layer: nothing in it imports a layer above it. */
const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} may import only itself and the layers below it (docs/architecture.md)`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle makes the modules in it one module in disguise',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'reference-server-stays-a-server',
      comment: 'the reference server uses no client-side harness code (probes, echo clients)',
      severity: 'error',
      from: { path: '^reference-server/' },
      to: {
        path: '^harness/(probes|target|testhost|results|conformance|load)/|^harness/net/(echo-client|dual-exchange|native-client)\\.ts$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
