/** The calls `http` tasks make to outside services. */

export interface IntegrationRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
}

export interface IntegrationResponse {
  status: number;
  body: unknown;
}

/** Failure of an integration call, with a stable code and whether a retry may help. */
export class IntegrationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'IntegrationError';
  }
}

export interface IntegrationClient {
  request(req: IntegrationRequest): Promise<IntegrationResponse>;
}
