/**
 * Approval tasks (docs/approvals.md): what a waiting approval records, the variables its
 * `notify` templates see, its deadline, who may answer and what an answer may say, and the
 * task's result once answered. Pure: no I/O, no clock.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { SYSTEM_ACTORS } from './audit.js';
import { MAX_PROMPT_LENGTH } from './playbook-schema.js';

export const MAX_COMMENT_LENGTH = 1_000;
/** The error of an approval whose timeout came with `on_timeout: "fail"`. */
export const APPROVAL_TIMEOUT = 'APPROVAL_TIMEOUT';
/** The `by` of an answer applied by the timeout; `callback` for a callback token's (never a token's `sub`). */
export const TIMEOUT_ACTOR = 'timeout';
export const CALLBACK_ACTOR = SYSTEM_ACTORS.callback;

/** What a task in status `waiting` waits for, since and until when (epoch ms). */
export type WaitKind = 'approval' | 'delay';
export interface TaskWait {
  kind: WaitKind;
  since: number;
  until: number;
  /** When the wait ended (answered, timed out, its time reached); absent while waiting, or if it was cancelled. */
  ended_at?: number;
}

/** The recorded answer; `choice` is null only for a timeout that fails the task. */
export interface ApprovalAnswer {
  choice: string | null;
  by: string;
  comment: string | null;
  at: number;
}

/** How the notify request went (sent once, when the wait began). */
export type NotifyResult = { at: number; status: number } | { at: number; error: { code: string; message: string } };

/** What a waiting approval task records: its question as rendered when the wait began, and its answer. */
export interface ApprovalState {
  playbook_name: string;
  prompt: string;
  choices: string[];
  /** The subs allowed to answer with a JWT; null: any user of the tenant. */
  approvers: string[] | null;
  on_timeout: string;
  /** SHA-256 (hex) of the callback token: the token itself is never stored (callback-token.ts). */
  token_hash: string;
  answer: ApprovalAnswer | null;
  notify?: NotifyResult;
}

/** The deadline of an approval that starts waiting at `since`. */
export function approvalExpiresAt(since: number, timeoutSeconds: number): number {
  return since + timeoutSeconds * 1_000;
}

/** A rendered prompt as stored and shown: text (a raw value as JSON), at most MAX_PROMPT_LENGTH characters. */
export function promptText(rendered: unknown): string {
  const text = typeof rendered === 'string' ? rendered : (JSON.stringify(rendered ?? null) ?? '');
  return text.length <= MAX_PROMPT_LENGTH ? text : `${text.slice(0, MAX_PROMPT_LENGTH - 1)}…`;
}

/** Where a callback token is answered; absolute when the service's public URL is known. */
export function callbackUrl(token: string, baseUrl?: string): string {
  const path = `/callbacks/${token}`;
  return baseUrl ? `${baseUrl.replace(/\/+$/, '')}${path}` : path;
}

/** The `approval` variables a notify request's templates see, next to alert, tasks and execution. */
export interface ApprovalVariables {
  prompt: string;
  choices: string[];
  token: string;
  callback_url: string;
}

export function approvalVariables(
  prompt: string,
  choices: readonly string[],
  token: string,
  baseUrl?: string,
): ApprovalVariables {
  return { prompt, choices: [...choices], token, callback_url: callbackUrl(token, baseUrl) };
}

/** True when `sub` may answer with a JWT: no approvers were named, or `sub` is one of them. */
export function mayAnswer(approvers: readonly string[] | null | undefined, sub: string): boolean {
  return approvers === null || approvers === undefined || approvers.includes(sub);
}

/** An answer's body: `choice`, and an optional comment (null or absent for none). */
export const answerBodySchema = z.strictObject({
  choice: z.string().min(1).max(1_000),
  comment: z.string().max(MAX_COMMENT_LENGTH, `must be at most ${MAX_COMMENT_LENGTH} characters`).nullish(),
});

/**
 * Checks an answer's body against the offered choices: a 400 naming `choice` (not offered),
 * `comment` (too long, not text) or an unknown field. Returns the choice and the comment (or null).
 */
export function parseAnswer(body: unknown, choices: readonly string[]): { choice: string; comment: string | null } {
  const parsed = answerBodySchema.safeParse(body);
  if (!parsed.success) {
    const details = parsed.error.issues
      .slice(0, 10)
      .flatMap((i) =>
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => ({ path: k, message: `unknown field "${k}"` }))
          : [{ path: i.path.length > 0 ? i.path.join('.') : '(body)', message: i.message }],
      );
    throw new ValidationError('invalid answer', details);
  }
  const { choice, comment } = parsed.data;
  if (!choices.includes(choice)) {
    throw new ValidationError('invalid answer', [
      { path: 'choice', message: `must be one of: ${choices.map((c) => JSON.stringify(c)).join(', ')}` },
    ]);
  }
  return { choice, comment: comment === undefined || comment === null || comment === '' ? null : comment };
}

/** What a timeout records: `on_timeout` as the choice, or no choice when the task fails. */
export function timeoutAnswer(onTimeout: string, at: number): ApprovalAnswer {
  return { choice: onTimeout === 'fail' ? null : onTimeout, by: TIMEOUT_ACTOR, comment: null, at };
}

export type ApprovalOutcome =
  | { status: 'succeeded'; output: { choice: string; by: string; comment: string | null; at: number } }
  | { status: 'failed'; error: { code: string; message: string } };

/** The task's result once answered: `{ choice, by, comment, at }`, or APPROVAL_TIMEOUT. */
export function approvalOutcome(answer: ApprovalAnswer): ApprovalOutcome {
  if (answer.choice === null) {
    return {
      status: 'failed',
      error: { code: APPROVAL_TIMEOUT, message: 'nobody answered before the approval timed out' },
    };
  }
  return {
    status: 'succeeded',
    output: { choice: answer.choice, by: answer.by, comment: answer.comment, at: answer.at },
  };
}
