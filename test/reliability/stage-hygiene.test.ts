/**
 * Stage hygiene. The local stage (HS256 with a public secret, private integration targets
 * allowed) is what `serverless` builds when no --stage is given; it must never be packaged or
 * deployed. `serverless package` / `deploy` without --stage, or with --stage local, are refused
 * by tools/serverless/stage-guard.cjs before anything is built (run here in a copy of the service
 * made of symlinks, so the checkout's .serverless/ is untouched; no AWS account involved). And at
 * cold start, whatever was deployed: a deployed stage needs rediss://, the local stage refuses to
 * run inside AWS Lambda, and the public local secret is refused outside the local stage.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, PUBLIC_LOCAL_JWT_SECRET, parseConfigSection } from '../../lib/config.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
let serviceDir: string;

beforeAll(() => {
  serviceDir = mkdtempSync(path.join(tmpdir(), 'playbook-service-stage-'));
  for (const file of ['serverless.yml', 'package.json'])
    copyFileSync(path.join(ROOT, file), path.join(serviceDir, file));
  for (const entry of ['tsconfig.json', 'functions', 'lib', 'node_modules', 'tools'])
    symlinkSync(path.join(ROOT, entry), path.join(serviceDir, entry));
});
afterAll(() => {
  if (serviceDir) rmSync(serviceDir, { recursive: true, force: true });
});

/** Runs the serverless CLI in the copy; resolves with its exit code and output. */
async function sls(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const res = await run(process.execPath, [path.join(ROOT, 'node_modules/serverless/bin/serverless.js'), ...args], {
      cwd: serviceDir,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
        ...env,
      },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: res.stdout + res.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('packaging and deploying the local stage', () => {
  it.each([
    ['package without --stage', ['package'], {}, 'no --stage was given'],
    ['package --stage local', ['package', '--stage', 'local'], {}, "the stage is 'local'"],
    ['deploy without --stage', ['deploy'], {}, 'no --stage was given'],
    // The opt-in lets `package` look at the local template, never `deploy` it.
    [
      'deploy --stage local with the package opt-in',
      ['deploy', '--stage', 'local'],
      { PACKAGE_LOCAL_STAGE: 'yes' },
      'stage',
    ],
  ])('%s is refused before anything is built', async (_what, args, env, reason) => {
    const { code, output } = await sls(args, env);
    expect(code, output).not.toBe(0);
    expect(output).toContain('Refusing to');
    expect(output).toContain(reason);
    expect(output).toContain('public secret');
  });

  it('the guard, the config check and serverless.yml agree on the public local secret', () => {
    const yml = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')) as {
      params: { local: { authEnv: { AUTH_JWT_SECRET: string } } };
    };
    expect(yml.params.local.authEnv.AUTH_JWT_SECRET).toContain(`'${PUBLIC_LOCAL_JWT_SECRET}'`);
    const guard = readFileSync(path.join(ROOT, 'tools/serverless/stage-guard.cjs'), 'utf8');
    expect(guard).toContain(`const PUBLIC_LOCAL_SECRET = '${PUBLIC_LOCAL_JWT_SECRET}';`);
  });
});

describe('cold-start checks of a deployed stage', () => {
  const invalid = (section: Parameters<typeof parseConfigSection>[0], env: Record<string, string>) => {
    try {
      parseConfigSection(section, env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return undefined;
  };

  it('a deployed stage refuses a plain redis:// URL; rediss:// and the local stage are fine', () => {
    expect(invalid('redis', { STAGE: 'prod', REDIS_URL: 'redis://cache.example.net:6379' })).toMatch(
      /REDIS_URL: must be a rediss:\/\/ \(TLS\) URL/,
    );
    expect(invalid('redis', { STAGE: 'prod', REDIS_URL: 'rediss://cache.example.net:6379' })).toBeUndefined();
    expect(invalid('redis', { STAGE: 'local', REDIS_URL: 'redis://127.0.0.1:6379' })).toBeUndefined();
  });

  it('the local stage refuses to run in AWS Lambda; the public secret is refused outside it', () => {
    const service = { AWS_REGION: 'us-east-1', AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' };
    expect(invalid('service', { ...service, STAGE: 'local' })).toMatch(
      /STAGE: the local stage cannot run in AWS Lambda/,
    );
    expect(invalid('service', { ...service, STAGE: 'prod' })).toBeUndefined();
    expect(invalid('service', { AWS_REGION: 'us-east-1', STAGE: 'local' })).toBeUndefined();
    expect(invalid('auth', { STAGE: 'prod', AUTH_JWT_SECRET: PUBLIC_LOCAL_JWT_SECRET })).toMatch(
      /AUTH_JWT_SECRET: is the public local secret/,
    );
    expect(invalid('auth', { STAGE: 'local', AUTH_JWT_SECRET: PUBLIC_LOCAL_JWT_SECRET })).toBeUndefined();
  });
});
