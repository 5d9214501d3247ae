import type { IncomingMessage, ServerResponse } from "node:http";
import express, { Router, type ErrorRequestHandler, type Request, type Response } from "express";
import { httpStatusOf, SlipwayError } from "@slipway/core";
import type { Logger } from "pino";
import { toSlipwayError } from "../http/errors.js";
import type { DeliveryAnswer, DeliveryReceiver } from "./receive-delivery.js";

/** Forges send at most 25 MB (GitHub's cap); larger bodies are refused while streaming. */
export const MAX_HOOK_BODY = 25 * 1024 * 1024;

/** `POST /hooks` and `POST /hooks/{sourceId}` as express routes them: any case, an optional trailing slash, a query. */
const HOOK_PATH = /^\/hooks(?:\/([^/?#]+))?\/?(?:[?#].*)?$/i;

export interface HookListenerOptions {
  logger: Logger;
  /** Told of every answer (metrics): the route's pattern, the status and the seconds it took. */
  onAnswered?: (route: string, status: number, seconds: number) => void;
}

/** Takes a request (true) or leaves it to the rest of the application (false). */
export type HookListener = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The hot path of the delivery receiver's HTTP adapter, in front of express: a delivery is
 * read, handed over and answered with node:http's own calls. Express's per-request set-up
 * (it swaps the prototypes of req and res, which deoptimises node's HTTP code for them, then
 * routes through every middleware) cost more than everything else a delivery's HTTP needs
 * (bench/README.md). What is not a webhook delivery is left to express, and so is a body
 * with a Content-Encoding, which express's routes below (createHookRoutes) inflate.
 */
export function createHookListener(receiver: DeliveryReceiver, options: HookListenerOptions): HookListener {
  return (req, res) => {
    if (req.method !== "POST") return false;
    const match = HOOK_PATH.exec(req.url ?? "");
    if (match === null) return false;
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") return false;
    let sourceId: string | undefined;
    try {
      sourceId = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch (err) {
      // A malformed escape: express answers it, as it would for any other path.
      if (err instanceof URIError) return false;
      throw err;
    }
    const route = sourceId === undefined ? "/hooks" : "/hooks/:sourceId";
    const started = performance.now();
    const send = (answer: DeliveryAnswer): void => {
      answerJson(res, answer.status, answer.body);
      options.onAnswered?.(route, answer.status, (performance.now() - started) / 1000);
    };
    readBody(req, (body) => {
      const answered =
        body instanceof SlipwayError
          ? receiver.rejectUnreadable({ sourceId, headers: req.headers }, body)
          : receiver.receive({ sourceId, headers: req.headers, rawBody: body });
      answered
        .then(send, (err: unknown) => {
          // Our own failure, answered as the application's error handler answers one.
          const error = toSlipwayError(err);
          const status = httpStatusOf(error.code);
          if (status >= 500) options.logger.error({ err: error.cause ?? error, method: req.method, path: route }, "request failed");
          if (error.code === "service_unavailable" || error.code === "rate_limited") res.setHeader("Retry-After", String(error.retryAfterSeconds ?? 5));
          send({ status, body: { error: { code: error.code, message: error.message } } });
        })
        // An answer that cannot be written (the sender went away) must not become an unhandled rejection.
        .catch((err: unknown) => options.logger.warn({ err, path: route }, "could not send a hook answer"));
    });
    return true;
  };
}

function answerJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Reads the whole body, up to MAX_HOOK_BODY. As express's body parser does, a body too large
 * is read to its end and dropped, so that the sender gets its answer; a body cut short (the
 * sender went away) is a bad request. Calls `done` once, with the bytes or the error.
 */
function readBody(req: IncomingMessage, done: (body: Buffer | SlipwayError) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers["content-length"]) > MAX_HOOK_BODY;
  let finished = false;
  const finish = (body: Buffer | SlipwayError): void => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_HOOK_BODY) tooLarge = true;
    if (tooLarge) chunks.length = 0;
    else chunks.push(chunk);
  });
  req.on("end", () => {
    if (tooLarge) finish(new SlipwayError("payload_too_large", "the request body is larger than this endpoint accepts"));
    else finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
  const unreadable = (): void => finish(new SlipwayError("bad_request", "the request body could not be read"));
  req.on("error", unreadable);
  req.on("close", () => {
    if (!req.complete) unreadable();
  });
}

/**
 * The express routes of the receiver, for what the listener leaves to express: bodies with a
 * Content-Encoding (the body parser inflates gzip and deflate, and refuses what it cannot).
 */
export function createHookRoutes(receiver: DeliveryReceiver): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: MAX_HOOK_BODY });

  async function handle(req: Request, res: Response, sourceId: string | undefined) {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await receiver.receive({ sourceId, headers: req.headers, rawBody });
    res.status(answer.status).json(answer.body);
  }

  router.post("/hooks", raw, (req, res) => handle(req, res, undefined));
  router.post("/hooks/:sourceId", raw, (req, res) => handle(req, res, req.params.sourceId));

  // A body that could not be read (too large, aborted) is still a delivery: record it.
  const onBodyError: ErrorRequestHandler = async (err, req, res, next) => {
    const error = toSlipwayError(err);
    if (httpStatusOf(error.code) >= 500) {
      next(err);
      return;
    }
    const sourceId = typeof req.params["sourceId"] === "string" ? req.params["sourceId"] : undefined;
    const answer = await receiver.rejectUnreadable({ sourceId, headers: req.headers }, error);
    res.status(answer.status).json(answer.body);
  };
  router.use(["/hooks", "/hooks/:sourceId"], onBodyError);
  return router;
}
