// The layout's rules (docs/adr/0011-one-room-per-part.md). Each top-level folder is one part and every
// import points down: cli > loadtest > core | projectors | gateways > platform > contracts > gen.
// Specs (*.spec.ts) and test/ sit above everything and are exempt, except that no production file
// may import them.
const SPEC = '\\.spec\\.ts$';
const PROD = { path: '^(cli|platform|contracts|core|projectors|gateways|loadtest)/', pathNot: SPEC };

const below = (name, from, forbidden, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, pathNot: SPEC },
  to: { path: forbidden },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other in a circle cannot be read, tested or moved one at a time.',
      severity: 'error',
      from: { pathNot: SPEC },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      comment: 'core/src/domain imports nothing of I/O: only itself and the plain channel list of contracts/.',
      severity: 'error',
      from: { path: '^core/src/domain/', pathNot: SPEC },
      to: { pathNot: ['^core/src/domain/', '^contracts/channels\\.ts$'] },
    },
    {
      name: 'gateways-only-talk-rpc',
      comment:
        'A gateway imports only gen/, contracts/, platform/ and its own folder: it reaches the core through ' +
        'its RPCs, never its internals or a store. The one exception: the edge mounts webhooks-out routes.',
      severity: 'error',
      from: { path: '^gateways/([^/]+)/', pathNot: SPEC },
      to: {
        pathNot: [
          '^gen/',
          '^contracts/',
          '^platform/',
          '^gateways/$1/',
          '^node_modules/',
          '^projectors/webhooks-out/http\\.ts$',
        ],
        dependencyTypesNot: ['core'],
      },
    },
    below(
      'projectors-not-core-app-or-api',
      '^projectors/',
      '^core/src/(app|api|readmodels)/|^core/src/main\\.ts$',
      'A projector reads the ledger (core/src/store) and the pure domain; the use cases and the API are the core process.',
    ),
    below(
      'store-not-app-or-api',
      '^core/src/store/',
      '^core/src/(app|api|readmodels)/|^core/src/main\\.ts$',
      'The event store is below the use cases.',
    ),
    below('app-not-api', '^core/src/app/', '^core/src/api/|^core/src/main\\.ts$', 'Use cases know nothing of gRPC.'),
    below('readmodels-not-app-or-api', '^core/src/readmodels/', '^core/src/(app|api)/|^core/src/main\\.ts$', ''),
    below('gen-is-generated', '^gen/', '^(cli|platform|contracts|core|projectors|gateways|loadtest|test)/', ''),
    below(
      'contracts-at-the-bottom',
      '^contracts/',
      '^(cli|platform|core|projectors|gateways|loadtest|test)/',
      'What crosses processes depends on nothing of ours but gen/.',
    ),
    below(
      'platform-below-the-parts',
      '^platform/',
      '^(cli|core|projectors|gateways|loadtest|test)/',
      'platform/ is what every part uses; it knows none of them.',
    ),
    below('parts-below-loadtest-and-cli', '^(core|projectors|gateways)/', '^(cli|loadtest)/', ''),
    below('core-not-read-side-or-edge', '^core/', '^(projectors|gateways)/', 'The core knows no reader and no edge.'),
    below('projectors-not-gateways', '^projectors/', '^gateways/', ''),
    below('loadtest-below-cli', '^loadtest/', '^cli/', ''),
    {
      name: 'production-never-imports-tests',
      comment: 'Test support lives with the tests; production folders import no spec helper and no test runner.',
      severity: 'error',
      from: PROD,
      to: { path: ['^test/', SPEC, '^node_modules/(vitest|@vitest|fast-check)/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.tmp|docs)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
