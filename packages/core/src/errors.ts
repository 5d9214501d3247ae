/**
 * Stable error codes. Every failure a user can see carries one of these: API answers
 * (`{"error": {"code", "message"}}`) and failed builds (`build.error.code`).
 * One place maps a code to an HTTP status (`httpStatusOf`), one place says whether a
 * build step failing with it is worth retrying (`isRetryable`).
 */
export const ERROR_CODES = {
  // Request errors (API, hooks, triggers).
  bad_request: 400,
  invalid_json: 400,
  missing_event: 400,
  validation_failed: 422,
  unauthorized: 401,
  invalid_signature: 401,
  /** The caller can see the resource but lacks the role for this (an invisible one answers not_found). */
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,

  // Build errors (build.error.code). The status is what an API answer would use if one
  // ever surfaced there; builds carry them in their record instead.
  clone_failed: 502,
  commit_not_found: 422,
  dockerfile_not_found: 422,
  path_outside_clone: 422,
  dockerfile_error: 422,
  hook_failed: 422,
  invalid_tag: 422,
  registry_unavailable: 503,
  registry_refused: 502,
  docker_unavailable: 503,
  worker_lost: 500,
  canceled: 409,
  timed_out: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes whose failure is transient: the step is retried with backoff before the build fails. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "registry_unavailable",
  "docker_unavailable",
  "service_unavailable",
]);

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  /** For rate_limited and service_unavailable: when to try again (an answer's Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = "SlipwayError";
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isSlipwayError(err: unknown): err is SlipwayError {
  return err instanceof SlipwayError;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** The wire shape of every 4xx/5xx answer and of `build.error`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export function toErrorBody(err: SlipwayError): ErrorBody {
  return { code: err.code, message: err.message };
}
