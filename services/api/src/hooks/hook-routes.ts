import express, { Router, type ErrorRequestHandler, type Request, type Response } from "express";
import { httpStatusOf } from "@slipway/core";
import { toSlipwayError } from "../http/errors.js";
import type { DeliveryReceiver } from "./receive-delivery.js";

/** Forges send at most 25 MB (GitHub's cap); larger bodies are refused while streaming. */
export const MAX_HOOK_BODY = 25 * 1024 * 1024;

/** The HTTP adapter of the delivery receiver: raw bytes in, its answer out. */
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
