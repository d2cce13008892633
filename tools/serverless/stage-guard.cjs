'use strict';
/**
 * osls plugin: `serverless package` and `serverless deploy` refuse to build the local stage.
 *
 * The local stage (the default of `provider.stage` when no --stage is given, so that
 * `serverless offline` and `serverless invoke local` need no flag) accepts HS256 tokens signed
 * with a secret everyone can read (`local-dev-secret`) and lets integrations call loopback and
 * private addresses. Packaged or deployed, that is an open API and an SSRF hole. A deployed
 * stage is named explicitly: `npm run package` (--stage prod), `serverless deploy --stage prod`.
 *
 * Refused when the stage being built is `local`, or when any function's environment has
 * STAGE=local or the public local signing secret. `PACKAGE_LOCAL_STAGE=yes` lets `package` (never
 * `deploy`) build the local stage anyway, e.g. to look at its template.
 */

const PUBLIC_LOCAL_SECRET = 'local-dev-secret';

class StageGuard {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options ?? {};
    const check = () => this.check();
    this.hooks = {
      // package:cleanup is the first step of `package` (and of `deploy`, which packages first).
      'before:package:cleanup': check,
      // `deploy --package <dir>` and `deploy function` skip packaging.
      'before:deploy:deploy': check,
      'before:deploy:function:initialize': check,
    };
  }

  problems() {
    const service = this.serverless.service;
    const stage = service.provider?.stage;
    const found = [];
    if (stage === 'local') {
      found.push(
        this.options.stage === undefined ? "no --stage was given, so the stage is 'local'" : "the stage is 'local'",
      );
    }
    const environments = [
      ['provider', service.provider?.environment ?? {}],
      ...Object.entries(service.functions ?? {}).map(([name, fn]) => [name, fn?.environment ?? {}]),
    ];
    for (const [where, env] of environments) {
      if (env.STAGE === 'local' && stage !== 'local') found.push(`${where}: STAGE=local`);
      if (env.AUTH_JWT_SECRET === PUBLIC_LOCAL_SECRET)
        found.push(`${where}: AUTH_JWT_SECRET is the public local secret`);
    }
    return [...new Set(found)];
  }

  check() {
    const problems = this.problems();
    if (problems.length === 0) return;
    const command = (this.serverless.processedInput?.commands ?? []).join(' ') || 'package';
    if (command === 'package' && process.env.PACKAGE_LOCAL_STAGE === 'yes') {
      this.serverless.cli?.log?.(
        `[stage-guard] packaging the local stage (PACKAGE_LOCAL_STAGE=yes): ${problems.join('; ')}`,
      );
      return;
    }
    const ServerlessError = this.serverless.classes?.Error ?? Error;
    throw new ServerlessError(
      [
        `Refusing to ${command} the local stage: ${problems.join('; ')}.`,
        'It accepts HS256 tokens signed with a public secret and lets integrations call private addresses.',
        'Name a deployed stage: `npm run package` (--stage prod) or `serverless deploy --stage <name>`.',
      ].join(' '),
      'LOCAL_STAGE_REFUSED',
    );
  }
}

module.exports = StageGuard;
