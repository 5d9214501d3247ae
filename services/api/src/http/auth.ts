import { safeEqual, SlipwayError } from "@slipway/core";
import type { RequestHandler } from "express";

/**
 * Bearer-token authentication with the administrator's token. A missing or wrong token
 * answers 401 with the same message, so the answer says nothing about which it was.
 */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !safeEqual(match[1], adminToken)) {
      next(new SlipwayError("unauthorized", "send 'Authorization: Bearer <token>' with a valid token"));
      return;
    }
    next();
  };
}
