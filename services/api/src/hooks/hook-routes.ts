import express, { Router, type ErrorRequestHandler, type Request, type Response } from "express";
import type { Store } from "@slipway/store";
import type { Logger } from "pino";
import { sendError, toSlipwayError } from "../http/errors.js";
import type { DeliveryReceiver } from "./receive-delivery.js";

/** Forges send at most 25 MB (GitHub's cap); larger bodies are refused while streaming. */
export const MAX_HOOK_BODY = 25 * 1024 * 1024;

/** The HTTP adapter of the delivery receiver: raw bytes in, its answer out. */
export function createHookRoutes(deps: { receive: DeliveryReceiver; store: Store; logger: Logger }): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: MAX_HOOK_BODY });

  async function handle(req: Request, res: Response, sourceId: string | undefined) {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await deps.receive({ sourceId, headers: req.headers, rawBody });
    res.status(answer.status).json(answer.body);
  }

  router.post("/hooks", raw, (req, res) => handle(req, res, undefined));
  router.post("/hooks/:sourceId", raw, (req, res) => handle(req, res, req.params.sourceId));

  // A body that could not be read (too large, aborted) is still a delivery: record it.
  const onBodyError: ErrorRequestHandler = async (err, req, res, next) => {
    const error = toSlipwayError(err);
    if (error.code === "internal_error") {
      next(err);
      return;
    }
    try {
      const source = typeof req.params["sourceId"] === "string" ? await deps.store.getSource(req.params["sourceId"]) : undefined;
      const { delivery } = await deps.store.recordDelivery(
        {
          sourceId: source?.id ?? null,
          provider: source?.provider ?? null,
          event: null,
          deliveryKey: null,
          status: error.code === "payload_too_large" ? 413 : 400,
          outcome: "rejected",
          reason: error.message,
        },
        [],
      );
      sendError(res, error, { delivery: delivery.id });
    } catch (recordErr) {
      deps.logger.error({ err: recordErr }, "could not record a rejected delivery");
      next(recordErr);
    }
  };
  router.use(["/hooks", "/hooks/:sourceId"], onBodyError);
  return router;
}
