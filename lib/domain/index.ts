/** The pure playbook domain: schema, validation, graph, retry, expressions and templates (no I/O). */
export * from './expressions.js';
export * from './field-path.js';
export * from './graph.js';
export * from './json-value.js';
export * from './playbook-schema.js';
export * from './playbook-validation.js';
export * from './retry.js';
export * from './statuses.js';
export * from './templates.js';
