/**
 * Integration secrets are referenced by name in http task templates as
 * `{{ secrets.NAME }}` (any JSONata expression may use `secrets.NAME`). Only the names
 * written literally are resolved at run time, so a playbook can reach no other secret,
 * and the values are in the template context of that task's http config only.
 */
import { MAX_JSON_DEPTH, walkJson } from './json-value.js';
import { hasTemplateMarkers, parseTemplate } from './templates.js';

/** A secret's name: letters, digits and underscores (also its last SSM path segment). */
export const SECRET_NAME = /^[A-Za-z0-9_]{1,128}$/;

const REF = /(?<![A-Za-z0-9_$.])secrets\s*\.\s*([A-Za-z0-9_]{1,128})(?![A-Za-z0-9_])/g;

/** The distinct secret names referenced by the templates inside `value` (an http config), sorted. */
export function secretRefs(value: unknown): string[] {
  const names = new Set<string>();
  walkJson(value, MAX_JSON_DEPTH, (node) => {
    if (typeof node.value !== 'string' || !hasTemplateMarkers(node.value)) return true;
    let parts: ReturnType<typeof parseTemplate>;
    try {
      parts = parseTemplate(node.value);
    } catch {
      return true; // rendering reports the syntax error
    }
    for (const part of parts) {
      if (part.kind !== 'expression') continue;
      for (const m of part.expression.matchAll(REF)) if (m[1]) names.add(m[1]);
    }
    return true;
  });
  return [...names].sort();
}
