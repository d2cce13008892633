/**
 * Which webhook key a function uses. The local stage's environment has both variables
 * (serverless.yml's deployed parameter name applies to every stage), so the key given directly
 * must win there; deployed stages have only the parameter name (serverless-template.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { webhookKeySource } from '../../lib/adapters/secrets/webhook-key.js';
import { parseConfigSection } from '../../lib/config.js';

const KEY = 'local-dev-webhook-signing-key-not-a-secret';
const PARAMETER = '/playbook-service/local/webhook-signing-key';

describe('webhookKeySource', () => {
  it('uses WEBHOOK_SIGNING_KEY when it is set, even beside a parameter name (the local stage)', async () => {
    const cfg = parseConfigSection('webhooks', {
      WEBHOOK_SIGNING_KEY: KEY,
      WEBHOOK_SIGNING_KEY_PARAMETER: PARAMETER,
    });
    let ssmUsed = false;
    const source = webhookKeySource(cfg, () => {
      ssmUsed = true;
      return { key: async () => new Uint8Array() };
    });
    expect(new TextDecoder().decode(await source.key())).toBe(KEY);
    expect(ssmUsed).toBe(false);
  });

  it('reads the SSM parameter when only its name is set (deployed stages)', async () => {
    const cfg = parseConfigSection('webhooks', { WEBHOOK_SIGNING_KEY_PARAMETER: PARAMETER });
    const names: string[] = [];
    const source = webhookKeySource(cfg, (name) => {
      names.push(name);
      return { key: async () => new TextEncoder().encode('from-ssm') };
    });
    expect(new TextDecoder().decode(await source.key())).toBe('from-ssm');
    expect(names).toEqual([PARAMETER]);
  });

  it('refuses a configuration with neither, naming the variable', () => {
    expect(() => parseConfigSection('webhooks', {})).toThrow(/WEBHOOK_SIGNING_KEY_PARAMETER/);
  });
});
