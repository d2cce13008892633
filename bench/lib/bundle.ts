/**
 * esbuild with the options serverless.yml gives serverless-esbuild (custom.esbuild):
 * one ESM bundle per entry, everything bundled (@aws-sdk included) except what
 * custom.esbuild.exclude names, minified, node22, with the createRequire banner the
 * CommonJS dependencies need.
 */
import { stat } from 'node:fs/promises';
import { type BuildOptions, build } from 'esbuild';
import { ROOT } from '../../scripts/lib/stack/index.mjs';

export const SERVERLESS_ESBUILD_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: true,
  keepNames: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  // custom.esbuild.exclude: the mongodb driver's optional peer for MONGODB-AWS auth (the Lambda runtime has it),
  // and the SDK's credential providers the default chain imports only without credentials in the environment.
  external: [
    '@aws-sdk/credential-providers',
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-web-identity',
  ],
  // Relative to the repository root, as serverless-esbuild resolves it.
  absWorkingDir: ROOT,
  alias: { 'whatwg-url': './lib/shims/whatwg-url.cjs' },
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
};

/** Bundles `entry` into `outfile` (.mjs, with an external .map beside it); returns the bundle's size in bytes. */
export async function bundle(entry: string, outfile: string): Promise<number> {
  await build({ ...SERVERLESS_ESBUILD_OPTIONS, entryPoints: [entry], outfile, logLevel: 'error' });
  return (await stat(outfile)).size;
}
