/**
 * The dependency rules of the code (`npm run lint:deps`, run by .ci/run next to lint): data and
 * calls flow one way, functions -> lib/wiring + lib/lambda -> lib/engine -> lib/domain, and
 * adapters implement the ports the engine declares. Type-only imports count.
 */
/** SDKs, drivers and Lambda libraries, as resolved (type-only imports of aws-lambda resolve to @types). */
const SDKS = 'node_modules/(mongodb|ioredis|@aws-sdk/|@middy/|@aws-lambda-powertools/|@types/aws-lambda/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycle anywhere (type imports included).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment:
        'lib/domain imports nothing of ours outside lib/domain, except lib/errors.ts: the one error ' +
        'hierarchy, plain TypeScript that imports nothing (rule errors-import-nothing), which the ' +
        "domain's validation throws (ValidationError naming the field).",
      from: { path: '^lib/domain/' },
      to: { path: '^(lib|functions|scripts|tools|test|bench)/', pathNot: ['^lib/domain/', '^lib/errors\\.ts$'] },
    },
    {
      name: 'domain-no-sdk',
      severity: 'error',
      comment: 'lib/domain uses no SDK, driver or Lambda library (pure libraries such as zod or jsonata only).',
      from: { path: '^lib/domain/' },
      to: { path: SDKS },
    },
    {
      name: 'errors-import-nothing',
      severity: 'error',
      comment: 'lib/errors.ts stays a leaf, so the domain that imports it stays pure.',
      from: { path: '^lib/errors\\.ts$' },
      to: { path: '^(lib|functions)/' },
    },
    {
      name: 'engine-no-adapters',
      severity: 'error',
      comment:
        'lib/engine (use cases, ports, model) imports no adapter, client, composition root, Lambda or ' +
        'HTTP layer, nor the configuration: what it needs comes through its ports and deps. ' +
        'lib/observability.ts (logger and metrics) and lib/errors.ts are allowed.',
      from: { path: '^lib/engine/' },
      to: { path: '^(lib/(adapters|clients|wiring|lambda|http)/|lib/(clients|config|tracing|auth)\\.ts$|functions/)' },
    },
    {
      name: 'engine-no-sdk',
      severity: 'error',
      comment: 'lib/engine imports no SDK or driver (the adapters do).',
      from: { path: '^lib/engine/' },
      to: { path: SDKS },
    },
    {
      name: 'ports-import-model-only',
      severity: 'error',
      comment: 'A port file imports only the model, the domain and other ports: never a use case.',
      from: { path: '^lib/engine/ports/' },
      to: { path: '^lib/', pathNot: ['^lib/engine/ports/', '^lib/engine/model\\.ts$', '^lib/domain/'] },
    },
    {
      name: 'adapters-no-use-cases',
      severity: 'error',
      comment: 'lib/adapters depend on the ports and the model, never on a use case of lib/engine.',
      from: { path: '^lib/adapters/' },
      to: { path: '^lib/engine/', pathNot: ['^lib/engine/ports/', '^lib/engine/model\\.ts$'] },
    },
    {
      name: 'adapters-no-upper-layers',
      severity: 'error',
      comment: 'lib/adapters know nothing of the composition root, the Lambda or HTTP layers, or the functions.',
      from: { path: '^lib/adapters/' },
      to: { path: '^(lib/(wiring|lambda|http)/|functions/)' },
    },
    {
      name: 'functions-through-wiring',
      severity: 'error',
      comment:
        'functions/ are thin: they get their adapters from lib/wiring and their middy stacks from ' +
        'lib/lambda, never an adapter, a client or an SDK directly (aws-lambda types are allowed).',
      from: { path: '^functions/' },
      to: { path: '^(lib/(adapters|clients)/|lib/clients\\.ts$)' },
    },
    {
      name: 'functions-no-sdk',
      severity: 'error',
      comment: 'functions/ use no SDK, driver or middy directly (lib/lambda and lib/wiring do).',
      from: { path: '^functions/' },
      to: { path: SDKS, pathNot: 'node_modules/@types/aws-lambda/' },
    },
    {
      name: 'lib-not-to-tests',
      severity: 'error',
      comment: 'Product code never imports tests, benches or scripts.',
      from: { path: '^(lib|functions)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    exclude: { path: '(^|/)(\\.esbuild|\\.serverless|bench/out)/' },
  },
};
