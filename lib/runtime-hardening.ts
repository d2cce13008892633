/**
 * Process-wide hardening for functions that evaluate playbook expressions.
 * JSONata's regular expressions run in V8's backtracking engine, where a
 * pattern like /^(a+)+$/ can spin inside one native call that no evaluation
 * hook can interrupt; this flag makes V8 fall back to its linear-time engine
 * on excessive backtracking. It must be set from code (NODE_OPTIONS refuses it).
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Enables V8's linear-time regexp fallback once per process. */
export function hardenRegexEngine(): void {
  if (applied) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  applied = true;
}
