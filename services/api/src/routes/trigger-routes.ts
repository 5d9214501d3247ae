import { Router } from "express";
import type { RouteDeps } from "./route-deps.js";

/**
 * Trigger URLs (CONTRACT §4, issue 5). `call` is the public, token-authenticated route
 * (`POST /api/build/v1/source/{sourceId}/trigger/{token}/call/`), mounted before any auth;
 * `api` is mounted under /api/v1 behind the admin token.
 */
export function createTriggerRoutes(_deps: RouteDeps): { call: Router; api: Router } {
  return { call: Router(), api: Router() };
}
