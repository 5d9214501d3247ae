import { Router } from "express";
import type { RouteDeps } from "./route-deps.js";

/** Build variables (CONTRACT §5, issue 5), under /api/v1. */
export function createVariableRoutes(_deps: RouteDeps): Router {
  return Router();
}
