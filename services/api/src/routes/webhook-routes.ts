import { Router } from "express";
import type { RouteDeps } from "./route-deps.js";

/** Outgoing webhooks and their deliveries (CONTRACT §5 and §7, issue 5), under /api/v1. */
export function createWebhookRoutes(_deps: RouteDeps): Router {
  return Router();
}
