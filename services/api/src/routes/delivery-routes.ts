import type { Store } from "@slipway/store";
import { Router } from "express";
import { pageLimit, queryString } from "../http/input.js";
import { toDeliveryView } from "../views.js";

export function createDeliveryRoutes(deps: { store: Store }): Router {
  const router = Router();
  router.get("/deliveries", async (req, res) => {
    const page = await deps.store.listDeliveries({
      limit: pageLimit(req.query["limit"]),
      cursor: queryString(req.query["cursor"]),
      sourceId: queryString(req.query["source"]),
    });
    res.json({ deliveries: page.items.map(toDeliveryView), nextCursor: page.nextCursor });
  });
  return router;
}
