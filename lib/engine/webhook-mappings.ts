/**
 * A webhook's optional mappings of its request body to the run's `alert_id` and `alert`:
 * `{{ jsonata }}` templates whose input is the body (`{{ detail.id }}`, `{{ $ }}`), checked when
 * the hook is created and evaluated per delivery with the expression limits of every template
 * (time, depth, output size). Without them the alert is the whole body and the alert id a new one.
 */

import { ExpressionError } from '../domain/expressions.js';
import { isPlainObject } from '../domain/json-value.js';
import { collectTemplateErrors, parseTemplate, renderTemplate, type TemplateContext } from '../domain/templates.js';
import { type FieldIssue, ValidationError } from '../errors.js';

export interface WebhookMappings {
  alert_id?: string;
  alert?: string;
}

export const MAX_MAPPING_LENGTH = 4096;
const MAX_ALERT_ID = 256;

/** 400 naming each mapping that cannot work: a template that does not parse, an alert that cannot be an object. */
export function checkMappings(m: WebhookMappings): void {
  const issues: FieldIssue[] = [];
  for (const field of ['alert_id', 'alert'] as const) {
    const value = m[field];
    if (value === undefined) continue;
    issues.push(...collectTemplateErrors(value, field));
  }
  if (m.alert !== undefined && issues.every((i) => i.path !== 'alert')) {
    const parts = parseTemplate(m.alert);
    if (parts.length !== 1 || parts[0]?.kind !== 'expression') {
      issues.push({ path: 'alert', message: 'must be exactly one {{ jsonata }} template yielding an object' });
    }
  }
  if (issues.length > 0) throw new ValidationError('invalid webhook mappings', issues);
}

function refused(path: string, message: string): ValidationError {
  return new ValidationError('the request body does not fit the webhook', [{ path, message }]);
}

async function render(template: string, body: unknown, field: string): Promise<unknown> {
  try {
    // The body is the templates' whole input: `{{ a.b }}` reads the body's a.b.
    return await renderTemplate(template, body as TemplateContext);
  } catch (err) {
    if (err instanceof ExpressionError) throw refused(field, `the ${field} mapping failed: ${err.message}`);
    throw err;
  }
}

/** The run's alert and alert id from a delivery's body; 400 naming the field when a mapping yields nothing usable. */
export async function applyMappings(
  m: WebhookMappings,
  body: unknown,
  newId: () => string,
): Promise<{ alert_id: string; alert: Record<string, unknown> }> {
  const alert = m.alert === undefined ? body : await render(m.alert, body, 'alert');
  if (!isPlainObject(alert)) {
    throw m.alert === undefined
      ? refused('(body)', 'must be a JSON object (or the webhook needs an alert mapping)')
      : refused('alert', 'the alert mapping must yield a JSON object');
  }
  let alert_id = newId();
  if (m.alert_id !== undefined) {
    const v = await render(m.alert_id, body, 'alert_id');
    if ((typeof v !== 'string' && typeof v !== 'number') || String(v).length === 0) {
      throw refused('alert_id', 'the alert_id mapping must yield a non-empty string or number');
    }
    alert_id = String(v);
    if (alert_id.length > MAX_ALERT_ID) throw refused('alert_id', `longer than ${MAX_ALERT_ID} characters`);
  }
  return { alert_id, alert: alert as Record<string, unknown> };
}
