/**
 * What `serverless package --stage prod` produces (offline, dummy credentials): the CloudFormation
 * template's queue, DLQ, alarm, table, event source mapping, HTTP API and authorizer, and one
 * least-privilege IAM role per function. Also checks that every function's environment (prod and
 * local) satisfies the lib/config.ts sections its handler validates at cold start.
 * Packaging takes 30-90 s: it runs once, in a temporary copy of the service made of symlinks, so
 * it never disturbs the checkout's .serverless/ or .esbuild/ (a running `npm start`).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVERLESS_ESBUILD_OPTIONS } from '../../bench/lib/bundle.js';
import { parseConfigSection, type SectionName } from '../../lib/config.js';
import { ROUTES } from '../support/api.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SLS = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

// ------------------------------------------------------------------------ serverless.yml

interface FunctionDef {
  handler: string;
  role?: string;
  timeout?: number;
  environment?: Record<string, unknown>;
}
const sls = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true }) as {
  functions: Record<string, FunctionDef>;
  custom: { esbuild: Record<string, unknown> };
};
const functionKeys = Object.keys(sls.functions);
/** `functions/run-playbook.handler` -> `functions/run-playbook.ts` */
const handlerFile = (fn: string) => `${sls.functions[fn]?.handler.replace(/\.[^.]+$/, '')}.ts`;
/** CloudFormation logical id prefix of a function, as osls names it: runPlaybook -> RunPlaybook. */
const logicalName = (fn: string) => fn.charAt(0).toUpperCase() + fn.slice(1);

/**
 * Least privilege, function by function: what each role may do besides writing its own log
 * group and X-Ray segments, as `action resource-logical-id`. A new function needs a line here.
 */
const READ_WEBHOOK_KEY =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
  'ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/playbook-service/prod/webhook-signing-key';
const PERMISSIONS: Record<string, string[]> = {
  health: [],
  authorizer: [],
  playbooks: [],
  analytics: [],
  audit: [],
  topPlaybooks: [],
  runPlaybook: [
    'sqs:SendMessage TaskQueue',
    'dynamodb:GetItem IdempotencyTable',
    'dynamodb:PutItem IdempotencyTable',
    'dynamodb:UpdateItem IdempotencyTable',
    'dynamodb:DeleteItem IdempotencyTable',
  ],
  executions: ['sqs:SendMessage TaskQueue'],
  // The webhook key (SSM SecureString) derives each new hook's secret.
  triggers: [READ_WEBHOOK_KEY],
  webhook: [
    READ_WEBHOOK_KEY,
    'sqs:SendMessage TaskQueue',
    'dynamodb:GetItem IdempotencyTable',
    'dynamodb:PutItem IdempotencyTable',
    'dynamodb:UpdateItem IdempotencyTable',
    'dynamodb:DeleteItem IdempotencyTable',
  ],
  runSchedules: ['sqs:SendMessage TaskQueue'],
  // An answered approval's task message; a due timer's (delayed) message.
  approvals: ['sqs:SendMessage TaskQueue'],
  callbacks: ['sqs:SendMessage TaskQueue'],
  fireTimers: ['sqs:SendMessage TaskQueue'],
  reapRuns: ['sqs:SendMessage TaskQueue'],
  executeTask: [
    'sqs:ReceiveMessage TaskQueue',
    'sqs:DeleteMessage TaskQueue',
    'sqs:ChangeMessageVisibility TaskQueue',
    'sqs:GetQueueAttributes TaskQueue',
    'sqs:SendMessage TaskQueue',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    'ssm:GetParameter arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/playbook-service/prod/secrets/*',
  ],
  dlqHandler: [
    'sqs:ReceiveMessage TaskDeadLetterQueue',
    'sqs:DeleteMessage TaskDeadLetterQueue',
    'sqs:ChangeMessageVisibility TaskDeadLetterQueue',
    'sqs:GetQueueAttributes TaskDeadLetterQueue',
    'sqs:SendMessage TaskQueue',
  ],
};
const BASELINE = new Set([
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
]);

/** Environment keys only the local stage has. */
const LOCAL_ONLY = new Set([
  'SQS_ENDPOINT',
  'DYNAMODB_ENDPOINT',
  'SSM_ENDPOINT',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'POWERTOOLS_DEV',
  'AUTH_JWT_SECRET',
  'WEBHOOK_SIGNING_KEY',
  'REDIS_ALLOW_PLAINTEXT',
]);
/** Keys only deployed stages have (the authorizer verifies tokens from a JWKS there). */
const DEPLOYED_ONLY = new Set(['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'WEBHOOK_SIGNING_KEY_PARAMETER']);

/** The lib/config.ts sections a handler validates at cold start (handlerPrelude and getConfig calls). */
function sectionsOf(fn: string): SectionName[] {
  const src = readFileSync(path.join(ROOT, handlerFile(fn)), 'utf8');
  const names = new Set<string>();
  if (src.includes('handlerPrelude(')) names.add('service');
  for (const m of src.matchAll(/handlerPrelude\(\[([^\]]*)\]\)/g)) {
    for (const s of (m[1] ?? '').matchAll(/'(\w+)'/g)) names.add(s[1] ?? '');
  }
  for (const m of src.matchAll(/getConfig\('(\w+)'\)/g)) names.add(m[1] ?? '');
  return [...names] as SectionName[];
}

// ------------------------------------------------------------------------ CloudFormation shapes

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
type Template = { Resources: Record<string, Resource> };

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** `{ Fn::GetAtt: [X, Arn] }` / `{ Ref: X }` -> X; '*' stays '*'. */
function logicalIdOf(ref: unknown): string {
  if (ref === '*') return '*';
  if (ref && typeof ref === 'object') {
    const r = ref as Record<string, unknown>;
    if (Array.isArray(r['Fn::GetAtt'])) return String(r['Fn::GetAtt'][0]);
    if (typeof r.Ref === 'string') return r.Ref;
    if (typeof r['Fn::Sub'] === 'string') return r['Fn::Sub'];
  }
  return JSON.stringify(ref);
}

let template: Template;
let serviceDir: string;
let packageDir: string;
let localConfig: {
  provider: { environment: Record<string, string> };
  functions: Record<string, { environment?: Record<string, string> }>;
};

const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
function resource(id: string): Resource {
  const r = template.Resources[id];
  if (!r) throw new Error(`template has no resource ${id}`);
  return r;
}
function statementsOf(roleId: string): Statement[] {
  const policies = (resource(roleId).Properties.Policies ?? []) as Array<{
    PolicyDocument: { Statement: Statement[] };
  }>;
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}
function lambdaOf(fn: string): Resource {
  return resource(`${logicalName(fn)}LambdaFunction`);
}

// ------------------------------------------------------------------------ static checks

describe('serverless.yml functions', () => {
  it('each has an existing handler file and a role of its own; every functions/*.ts is wired', () => {
    for (const fn of functionKeys) {
      expect(existsSync(path.join(ROOT, handlerFile(fn))), handlerFile(fn)).toBe(true);
      expect(sls.functions[fn]?.role, fn).toBe(`${logicalName(fn)}Role`);
    }
    const wired = new Set(functionKeys.map(handlerFile));
    const files = readdirSync(path.join(ROOT, 'functions'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `functions/${f}`);
    expect(files.filter((f) => !wired.has(f))).toEqual([]);
  });

  it('the bench bundles (sizes, memory, cold start) are built exactly as custom.esbuild builds the functions', () => {
    const { exclude, outputFileExtension, outputWorkFolder, watch, ...shared } = sls.custom.esbuild;
    expect([outputFileExtension, outputWorkFolder, watch]).not.toContain(undefined);
    const { absWorkingDir, external, ...bench } = SERVERLESS_ESBUILD_OPTIONS;
    expect(absWorkingDir).toBe(ROOT);
    expect(bench).toEqual(shared);
    // serverless-esbuild marks `exclude` external and does not pack it.
    expect(external).toEqual(exclude);
  });

  it('every function has a permissions entry in this test', () => {
    expect(Object.keys(PERMISSIONS).sort()).toEqual([...functionKeys].sort());
  });
});

// ------------------------------------------------------------------------ the packaged template

describe('serverless package --stage prod', () => {
  beforeAll(async () => {
    // osls deletes <service>/.serverless on every package, whatever --package says: package a
    // copy of the service made of symlinks, so neither .serverless/ nor .esbuild/ of the
    // checkout (a running `npm start`, a parallel `npm run lint:cfn`) is touched.
    serviceDir = mkdtempSync(path.join(tmpdir(), 'playbook-service-sls-'));
    // osls wants its config file to be a regular file; the code and dependencies are links.
    for (const file of ['serverless.yml', 'package.json'])
      copyFileSync(path.join(ROOT, file), path.join(serviceDir, file));
    for (const entry of ['tsconfig.json', 'functions', 'lib', 'tools', 'node_modules']) {
      symlinkSync(path.join(ROOT, entry), path.join(serviceDir, entry));
    }
    packageDir = path.join(serviceDir, 'package');
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'dummy',
      AWS_SECRET_ACCESS_KEY: 'dummy',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    };
    const opts = { cwd: serviceDir, env, maxBuffer: 64 * 1024 * 1024, timeout: 280_000 };
    const printed = await run(process.execPath, [SLS, 'print', '--stage', 'local', '--format', 'json'], opts);
    localConfig = JSON.parse(printed.stdout);
    await run(process.execPath, [SLS, 'package', '--stage', 'prod', '--package', packageDir], opts);
    template = JSON.parse(readFileSync(path.join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, 300_000);

  afterAll(() => {
    if (serviceDir) rmSync(serviceDir, { recursive: true, force: true });
  });

  it('one Node 22 arm64 function per key, bundled as ESM (.mjs) into its own zip', () => {
    expect(
      resources('AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(functionKeys.map((fn) => `${logicalName(fn)}LambdaFunction`).sort());
    for (const fn of functionKeys) {
      const props = lambdaOf(fn).Properties;
      expect(props.Runtime, fn).toBe('nodejs22.x');
      expect(props.Architectures, fn).toEqual(['arm64']);
      expect(props.FunctionName, fn).toBe(`playbook-service-prod-${fn}`);
      expect(props.TracingConfig, fn).toEqual({ Mode: 'Active' });
      // Zip central directories store file names uncompressed.
      const zip = readFileSync(path.join(packageDir, `${fn}.zip`));
      expect(zip.includes(`${handlerFile(fn).replace(/\.ts$/, '.mjs')}`), `${fn}.zip`).toBe(true);
      // Everything is in the bundle; the excluded optional peer is not packed either.
      expect(zip.includes('node_modules/'), `${fn}.zip has node_modules`).toBe(false);
    }
  });

  it('the task queue: event source mapping with maximum concurrency and partial batch failures', () => {
    const mappings = resources('AWS::Lambda::EventSourceMapping').filter(
      ([, r]) => logicalIdOf(r.Properties.EventSourceArn) === 'TaskQueue',
    );
    expect(mappings).toHaveLength(1);
    const props = mappings[0]?.[1].Properties ?? {};
    expect(logicalIdOf(props.FunctionName)).toBe('ExecuteTaskLambdaFunction');
    expect(props.BatchSize).toBe(10);
    expect(props.MaximumBatchingWindowInSeconds).toBe(0);
    expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const max = (props.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency;
    expect(max).toBeGreaterThanOrEqual(2);
    expect(max).toBeLessThanOrEqual(1000);
  });

  it('the task queue redrives to the DLQ, with a visibility timeout above the consumer timeout', () => {
    const queue = resource('TaskQueue').Properties;
    const redrive = queue.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number };
    expect(logicalIdOf(redrive.deadLetterTargetArn)).toBe('TaskDeadLetterQueue');
    expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(3);
    const consumerTimeout = lambdaOf('executeTask').Properties.Timeout as number;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumerTimeout);
    expect(queue.VisibilityTimeout).toBeLessThanOrEqual(43_200);
    expect(queue.QueueName).toBe('playbook-service-prod-tasks');
    const dlq = resource('TaskDeadLetterQueue').Properties;
    expect(dlq.QueueName).toBe('playbook-service-prod-tasks-dlq');
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
    expect(dlq.VisibilityTimeout).toBeGreaterThan(lambdaOf('dlqHandler').Properties.Timeout as number);
  });

  it('a CloudWatch alarm fires when the DLQ holds any message', () => {
    const alarms = resources('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .filter((p) => p.Namespace === 'AWS/SQS' && p.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0] ?? {};
    expect(alarm.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': ['TaskDeadLetterQueue', 'QueueName'] } },
    ]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(alarm.Threshold).toBe(0);
    expect((alarm.AlarmActions as unknown[]).length).toBeGreaterThan(0);
  });

  it('abandoned durable timers raise an alarm on the EMF metric fireTimers writes (its namespace and service)', () => {
    const alarm = resources('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find((p) => p.MetricName === 'TimersAbandoned');
    const vars = (lambdaOf('fireTimers').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(alarm).toMatchObject({
      Namespace: vars.POWERTOOLS_METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: vars.POWERTOOLS_SERVICE_NAME }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(((alarm?.AlarmActions ?? []) as unknown[]).length).toBeGreaterThan(0);
  });

  it('failed undos raise an alarm on the EMF metric executeTask and dlqHandler write (their namespace and service)', () => {
    const alarm = resources('AWS::CloudWatch::Alarm')
      .map(([, r]) => r.Properties)
      .find((p) => p.MetricName === 'UndosFailed');
    for (const fn of ['executeTask', 'dlqHandler']) {
      const vars = (lambdaOf(fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(alarm, fn).toMatchObject({
        Namespace: vars.POWERTOOLS_METRICS_NAMESPACE,
        Dimensions: [{ Name: 'service', Value: vars.POWERTOOLS_SERVICE_NAME }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(((alarm?.AlarmActions ?? []) as unknown[]).length).toBeGreaterThan(0);
  });

  it('the idempotency table: key id (S), on demand, TTL on `expiration`', () => {
    const table = resource('IdempotencyTable').Properties;
    expect(table.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(table.AttributeDefinitions).toEqual([{ AttributeName: 'id', AttributeType: 'S' }]);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
  });

  it('the HTTP API: every route, behind the JWT REQUEST authorizer except GET /health', () => {
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of ROUTES) {
      const props = routes.find((r) => r.RouteKey === `${route.method} ${route.path}`) ?? {};
      if (route.auth) {
        expect(props.AuthorizationType, route.path).toBe('CUSTOM');
        expect(logicalIdOf(props.AuthorizerId), route.path).toBe('HttpApiAuthorizerJwt');
      } else {
        expect(props.AuthorizationType ?? 'NONE', route.path).toBe('NONE');
      }
    }
    const authorizer = resource('HttpApiAuthorizerJwt').Properties;
    expect(authorizer).toMatchObject({
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
    });
    expect(authorizer.AuthorizerResultTtlInSeconds ?? 0).toBeLessThanOrEqual(300);
    expect(JSON.stringify(authorizer.AuthorizerUri)).toContain('AuthorizerLambdaFunction');
  });

  it('no shared default role: each function runs with its own role', () => {
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    const roles = functionKeys.map((fn) => logicalIdOf(lambdaOf(fn).Properties.Role));
    expect(roles).toEqual(functionKeys.map((fn) => `${logicalName(fn)}Role`));
    for (const roleId of roles) {
      const assume = resource(roleId).Properties.AssumeRolePolicyDocument as { Statement: unknown[] };
      expect(assume.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });

  it('each role allows exactly what its function uses: no wildcards, logs to its own log group', () => {
    for (const fn of functionKeys) {
      const statements = statementsOf(`${logicalName(fn)}Role`);
      const granted: string[] = [];
      for (const s of statements) {
        expect(s.Effect, fn).toBe('Allow');
        for (const action of asArray(s.Action)) {
          expect(action, `${fn}: wildcard action`).not.toMatch(/\*/);
          const targets = asArray(s.Resource).map(logicalIdOf);
          if (action.startsWith('xray:')) {
            expect(targets, `${fn} ${action}`).toEqual(['*']);
          } else if (action.startsWith('logs:')) {
            expect(targets, `${fn} ${action}`).toEqual([`${logicalName(fn)}LogGroup`]);
          } else {
            for (const t of targets) {
              expect(t, `${fn} ${action}: wildcard resource`).not.toBe('*');
              granted.push(`${action} ${t}`);
            }
          }
          expect(BASELINE.has(action) || !action.startsWith('logs:'), `${fn} ${action}`).toBe(true);
        }
      }
      expect(granted.sort(), fn).toEqual([...(PERMISSIONS[fn] ?? ['(missing entry)'])].sort());
      const actions = statements.flatMap((s) => asArray(s.Action));
      expect(actions, fn).toEqual(expect.arrayContaining([...BASELINE]));
    }
  });

  it('the queue and table permissions follow the config sections each handler validates', () => {
    for (const fn of functionKeys) {
      const granted = PERMISSIONS[fn] ?? [];
      const sections = sectionsOf(fn);
      expect(granted.includes('sqs:SendMessage TaskQueue'), `${fn}: queue section <-> sqs:SendMessage`).toBe(
        sections.includes('queue'),
      );
      expect(
        granted.some((g) => g.startsWith('dynamodb:')),
        `${fn}: idempotency section <-> dynamodb`,
      ).toBe(sections.includes('idempotency'));
    }
  });

  it('only the functions that derive webhook secrets read the webhook key; its value is never in an environment', () => {
    const readers = functionKeys.filter((fn) =>
      (PERMISSIONS[fn] ?? []).some((g) => g.endsWith('/webhook-signing-key')),
    );
    expect(readers.sort()).toEqual(['triggers', 'webhook']);
    for (const fn of readers) {
      const vars = (lambdaOf(fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars.WEBHOOK_SIGNING_KEY_PARAMETER, fn).toBe('/playbook-service/prod/webhook-signing-key');
      expect(vars.WEBHOOK_SIGNING_KEY, fn).toBeUndefined();
    }
  });

  it('runSchedules and fireTimers fire every minute; the webhook and callback routes have no authorizer', () => {
    const rules = resources('AWS::Events::Rule').map(([, r]) => r.Properties);
    for (const fn of ['RunSchedules', 'FireTimers']) {
      const rule = rules.find((r) => JSON.stringify(r.Targets).includes(`${fn}LambdaFunction`));
      expect(rule?.ScheduleExpression, fn).toBe('rate(1 minute)');
    }
    // A sweep ends before the next one starts (overlaps are safe, but not the plan).
    expect(lambdaOf('fireTimers').Properties.Timeout).toBeLessThan(60);
    for (const key of ['POST /hooks/{hook_id}', 'GET /callbacks/{token}', 'POST /callbacks/{token}']) {
      const route = resources('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key);
      expect(route, key).toBeDefined();
      expect(route?.[1].Properties.AuthorizationType ?? 'NONE', key).toBe('NONE');
    }
  });

  it('the consumer cannot touch the table; analytics and the audit log cannot send to the queue', () => {
    const consumer = statementsOf('ExecuteTaskRole').flatMap((s) => asArray(s.Action));
    expect(consumer.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    for (const fn of ['analytics', 'audit', 'topPlaybooks', 'health', 'authorizer']) {
      const actions = statementsOf(`${logicalName(fn)}Role`).flatMap((s) => asArray(s.Action));
      expect(
        actions.filter((a) => a.startsWith('sqs:') || a.startsWith('dynamodb:')),
        fn,
      ).toEqual([]);
    }
  });

  it('deployed environments hold no secrets and no local endpoints; settings come from SSM at deploy time', () => {
    for (const fn of functionKeys) {
      const vars = (lambdaOf(fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const key of Object.keys(vars)) expect(LOCAL_ONLY.has(key), `${fn} ${key}`).toBe(false);
      for (const key of ['MONGO_URI', 'REDIS_URL', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE']) {
        if (key in vars)
          expect(vars[key], `${fn} ${key}`).toMatch(/^\{\{resolve:ssm:\/playbook-service\/prod\/[a-z-]+\}\}$/);
      }
      if ('TASK_QUEUE_URL' in vars) expect(vars.TASK_QUEUE_URL).toEqual({ Ref: 'TaskQueue' });
      if ('IDEMPOTENCY_TABLE' in vars) expect(vars.IDEMPOTENCY_TABLE).toEqual({ Ref: 'IdempotencyTable' });
      if ('PUBLIC_BASE_URL' in vars) expect(vars.PUBLIC_BASE_URL).toEqual({ 'Fn::GetAtt': ['HttpApi', 'ApiEndpoint'] });
      expect(vars.STAGE, fn).toBe('prod');
      expect(vars.POWERTOOLS_METRICS_NAMESPACE, fn).toBe('PlaybookService');
    }
    const authorizerVars = Object.keys(
      (lambdaOf('authorizer').Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    );
    expect(authorizerVars).toEqual(expect.arrayContaining(['AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE']));
    for (const fn of ['health', 'authorizer']) {
      const vars = (lambdaOf(fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(
        Object.keys(vars).filter((k) => k.startsWith('MONGO_') || k.startsWith('REDIS_')),
        fn,
      ).toEqual([]);
    }
  });

  it("each function's environment satisfies the config sections its handler validates, local and prod", () => {
    // What CloudFormation will have resolved at deploy time, in the right format.
    const deployed = (key: string, value: unknown): string => {
      if (typeof value === 'string' && !value.startsWith('{{resolve:')) return value;
      const samples: Record<string, string> = {
        MONGO_URI: 'mongodb+srv://user:pw@cluster.example.net',
        REDIS_URL: 'rediss://cache.example.net:6379',
        AUTH_JWKS_URL: 'https://idp.example.net/.well-known/jwks.json',
        AUTH_ISSUER: 'https://idp.example.net/',
        AUTH_AUDIENCE: 'playbook-service',
        TASK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/playbook-service-prod-tasks',
        IDEMPOTENCY_TABLE: 'playbook-service-prod-idempotency',
        PUBLIC_BASE_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com',
      };
      const sample = samples[key];
      if (sample === undefined) throw new Error(`no sample for ${key} = ${JSON.stringify(value)}`);
      return sample;
    };
    for (const fn of functionKeys) {
      const prodVars = (lambdaOf(fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const prodEnv = Object.fromEntries(Object.entries(prodVars).map(([k, v]) => [k, deployed(k, v)]));
      const localEnv = { ...localConfig.provider.environment, ...localConfig.functions[fn]?.environment };
      // serverless-offline hands these to process.env as they are: a null would become "null".
      for (const [k, v] of Object.entries(localEnv)) expect(typeof v, `${fn} local ${k}`).toBe('string');
      for (const section of sectionsOf(fn)) {
        expect(
          () => parseConfigSection(section, { ...prodEnv, AWS_REGION: 'us-east-1' }),
          `${fn} prod ${section}`,
        ).not.toThrow();
        expect(
          () => parseConfigSection(section, { ...localEnv, AWS_REGION: 'us-east-1' }),
          `${fn} local ${section}`,
        ).not.toThrow();
      }
      // The two stages differ only in the stage-specific keys.
      const shared = (env: Record<string, unknown>) =>
        Object.keys(env)
          .filter((k) => !LOCAL_ONLY.has(k) && !DEPLOYED_ONLY.has(k))
          .sort();
      expect(shared(prodVars), fn).toEqual(shared(localEnv));
    }
  });
});
