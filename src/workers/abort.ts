/** Why a handler's AbortSignal fired; `signal.reason` is one of these. */
export type AbortCode = 'canceled' | 'lease_lost' | 'timeout' | 'shutdown';

export class AbortReason extends Error {
  readonly code: AbortCode;
  constructor(code: AbortCode, message: string) {
    super(message);
    this.name = 'AbortReason';
    this.code = code;
  }
}

export const abortCode = (signal: AbortSignal): AbortCode | null =>
  signal.aborted && signal.reason instanceof AbortReason ? signal.reason.code : null;

/** Throw this from a handler for an error that retrying cannot fix: the op fails at once. */
export class PermanentError extends Error {
  readonly code: string;
  constructor(message: string, code = 'permanent_error') {
    super(message);
    this.name = 'PermanentError';
    this.code = code;
  }
}
