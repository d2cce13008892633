/**
 * The one error hierarchy of the service. Domain and engine code throw these;
 * lib/http/errors.ts maps them to HTTP responses in exactly one place.
 */

/** One offending input location: a dotted/indexed path and what is wrong with it. */
export interface FieldIssue {
  path: string;
  message: string;
}

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

/** Base class: every error we raise on purpose carries a stable code. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: FieldIssue[];
  constructor(code: ErrorCode, message: string, details?: FieldIssue[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

/** Bad input (400): always names the offending field paths in details. */
export class ValidationError extends AppError {
  constructor(message: string, details: FieldIssue[]) {
    super('VALIDATION_FAILED', message, details);
  }
}

/** Unknown resource, or one that belongs to another tenant (404). */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** State conflict such as a duplicate name or a reused idempotency key (409). */
export class ConflictError extends AppError {
  constructor(message: string, details?: FieldIssue[]) {
    super('CONFLICT', message, details);
  }
}

/** Request body over the limit (413). */
export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}

/** Well-formed request the resource cannot honour, e.g. an inactive playbook (422). */
export class UnprocessableError extends AppError {
  constructor(message: string, details?: FieldIssue[]) {
    super('UNPROCESSABLE', message, details);
  }
}

/** Missing or invalid credentials (401/403); normally answered by the authorizer. */
export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super('UNAUTHORIZED', message);
  }
}

/** An authenticated caller who may not do this (403): e.g. not among an approval's approvers. */
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** A dependency (queue, database) is unavailable; safe to retry (503). */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVICE_UNAVAILABLE', message, undefined, options);
  }
}

/** Too many requests for one caller (429); `retryAfterSeconds` goes out as Retry-After. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}
