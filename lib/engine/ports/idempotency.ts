/** Run starts made idempotent by a caller's key (DynamoDB). */

export interface Idempotency {
  /**
   * Runs `fn` once per (scope, key, payload); repeats return the first result.
   * `remainingTimeMs` bounds how long an in-progress record blocks a retry.
   */
  once<T extends object>(
    scope: string,
    key: string,
    payload: unknown,
    fn: () => Promise<T>,
    lambdaContext?: { getRemainingTimeInMillis(): number },
  ): Promise<T>;
}
