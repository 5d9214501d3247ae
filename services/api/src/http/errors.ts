import { httpStatusOf, isSlipwayError, SlipwayError, type ErrorCode } from "@slipway/core";
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";

/** body-parser's error types, mapped to our codes. */
const BODY_ERRORS: Record<string, ErrorCode> = {
  "entity.too.large": "payload_too_large",
  "entity.parse.failed": "invalid_json",
  "encoding.unsupported": "unsupported_media_type",
  "charset.unsupported": "unsupported_media_type",
  "request.aborted": "bad_request",
  "request.size.invalid": "bad_request",
};

const BODY_MESSAGES: Partial<Record<ErrorCode, string>> = {
  payload_too_large: "the request body is larger than this endpoint accepts",
  invalid_json: "the request body is not valid JSON",
  unsupported_media_type: "the request body's encoding or charset is not supported",
  bad_request: "the request body could not be read",
};

/** Turns anything thrown into a SlipwayError; what we don't recognise is our own fault (500). */
export function toSlipwayError(err: unknown): SlipwayError {
  if (isSlipwayError(err)) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === "string" && BODY_ERRORS[type]) {
    const code = BODY_ERRORS[type];
    return new SlipwayError(code, BODY_MESSAGES[code] ?? "bad request body");
  }
  // A body its Content-Encoding does not inflate: body-parser passes zlib's error on as a 400.
  const zlibCode = (err as { code?: unknown } | null)?.code;
  if ((err as { status?: unknown } | null)?.status === 400 && typeof zlibCode === "string" && zlibCode.startsWith("Z_")) {
    return new SlipwayError("bad_request", "the request body could not be inflated: it is not what its Content-Encoding says");
  }
  return new SlipwayError("internal_error", "something went wrong on our side; the details are in Slipway's log", {
    cause: err,
  });
}

export function sendError(res: Parameters<RequestHandler>[1], err: SlipwayError, extra: Record<string, unknown> = {}): void {
  const status = httpStatusOf(err.code);
  if (err.code === "rate_limited" || err.code === "service_unavailable") res.setHeader("Retry-After", String(err.retryAfterSeconds ?? 5));
  res.status(status).json({ error: { code: err.code, message: err.message }, ...extra });
}

export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const error = toSlipwayError(err);
    if (httpStatusOf(error.code) >= 500) {
      logger.error({ err: error.cause ?? error, method: req.method, path: req.path }, "request failed");
    }
    sendError(res, error);
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new SlipwayError("not_found", `no route for ${req.method} ${req.path}`));
};
