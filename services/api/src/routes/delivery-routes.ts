import type { Store } from "@slipway/store";
import { SlipwayError } from "@slipway/core";
import { Router } from "express";
import { signedIn } from "../http/auth.js";
import { pageLimit, queryString } from "../http/input.js";
import { toDeliveryView } from "../views.js";

export function createDeliveryRoutes(deps: { store: Store }): Router {
  const router = Router();
  router.get("/deliveries", async (req, res) => {
    // Every source's deliveries, payload headers included: the site's administrators' view.
    if (!signedIn(req).user.admin) throw new SlipwayError("forbidden", "the deliveries log is for administrators");
    const page = await deps.store.listDeliveries({
      limit: pageLimit(req.query["limit"]),
      cursor: queryString(req.query["cursor"]),
      sourceId: queryString(req.query["source"]),
    });
    res.json({ deliveries: page.items.map(toDeliveryView), nextCursor: page.nextCursor });
  });
  return router;
}
