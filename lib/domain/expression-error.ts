/** The one error type of compiling or evaluating playbook expressions and templates. */

export type ExpressionErrorCode =
  | 'EXPRESSION_SYNTAX'
  | 'EXPRESSION_TIMEOUT'
  | 'EXPRESSION_TOO_DEEP'
  | 'EXPRESSION_OUTPUT_TOO_LARGE'
  | 'EXPRESSION_FAILED';

/** Why an expression could not be compiled or evaluated; `position` is JSONata's offset into the source. */
export class ExpressionError extends Error {
  readonly code: ExpressionErrorCode;
  readonly position: number | undefined;
  /** JSONata's own error code (e.g. S0207, T2001) when it reported one. */
  readonly jsonataCode: string | undefined;
  constructor(
    code: ExpressionErrorCode,
    message: string,
    details: { position?: number | undefined; jsonataCode?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ExpressionError';
    this.code = code;
    this.position = details.position;
    this.jsonataCode = details.jsonataCode;
  }
}
