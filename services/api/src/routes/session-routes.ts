import { safeEqual, SlipwayError } from "@slipway/core";
import express, { Router, type CookieOptions, type Request } from "express";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { findSession, hasCsrfToken, SESSION_COOKIE } from "../http/auth.js";
import { asBody } from "../http/input.js";
import type { SessionStore } from "../http/session-store.js";
import type { RateLimitDeps } from "./route-deps.js";

/** Failed sign-ins a minute from one address before the next is refused. */
const FAILED_SIGN_INS_PER_MINUTE = 10;

export interface SessionRouteDeps {
  adminToken: string;
  sessions: SessionStore;
  /** SLIPWAY_PUBLIC_URL: the cookie is Secure when the dashboard is served over https. */
  publicUrl: string;
  rateLimit: Pick<RateLimitDeps, "redis" | "prefix">;
}

/**
 * The dashboard's sign-in (CONTRACT §5 plus issue 6), under /api/v1 and before its
 * authentication: `POST /session {"token"}` sets the HttpOnly session cookie and answers the
 * CSRF token; `GET /session` answers it again (the page cannot read the cookie);
 * `DELETE /session` signs out.
 */
export function createSessionRoutes(deps: SessionRouteDeps): Router {
  const { sessions } = deps;
  const cookie: CookieOptions = {
    httpOnly: true,
    sameSite: "lax",
    secure: deps.publicUrl.startsWith("https:"),
    path: "/",
  };
  // Counted in Redis, per address, so that every API process shares the count.
  const failures = new RateLimiterRedis({
    storeClient: deps.rateLimit.redis,
    keyPrefix: `${deps.rateLimit.prefix}:sign-in-failures`,
    points: FAILED_SIGN_INS_PER_MINUTE,
    duration: 60,
  });
  const addressOf = (req: Request) => req.socket.remoteAddress ?? "unknown";

  const unavailable = (err: unknown) =>
    new SlipwayError("service_unavailable", "the sign-in rate limiter's Redis is unavailable; try again shortly", { cause: err });

  /** Seconds until this address may try again, or undefined when it may now. */
  async function lockedOut(address: string): Promise<number | undefined> {
    let seen: RateLimiterRes | null;
    try {
      seen = await failures.get(address);
    } catch (err) {
      throw unavailable(err);
    }
    if (seen === null || seen.consumedPoints < FAILED_SIGN_INS_PER_MINUTE) return undefined;
    return Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
  }

  async function countFailure(address: string): Promise<void> {
    try {
      await failures.consume(address);
    } catch (err) {
      // Over the limit already: the next attempt is refused by lockedOut.
      if (!(err instanceof RateLimiterRes)) throw unavailable(err);
    }
  }

  const router = Router();

  router.post("/session", express.json({ limit: "16kb" }), async (req, res) => {
    const address = addressOf(req);
    const retryAfter = await lockedOut(address);
    if (retryAfter !== undefined) {
      res.setHeader("Retry-After", String(retryAfter));
      res.status(429).json({ error: { code: "rate_limited", message: `too many failed sign-ins from this address; try again in ${retryAfter} s` } });
      return;
    }
    const token = asBody(req.body)["token"];
    if (typeof token !== "string" || token === "" || !safeEqual(token.trim(), deps.adminToken)) {
      await countFailure(address);
      throw new SlipwayError("unauthorized", "that token was not accepted: give the admin token (printed by npm start, kept in $SLIPWAY_DATA_DIR/admin-token)");
    }
    const { id, session } = await sessions.create();
    res.cookie(SESSION_COOKIE, id, cookie);
    res.status(201).json({ csrfToken: session.csrfToken });
  });

  router.get("/session", async (req, res) => {
    const found = await findSession(req, sessions);
    if (!found) throw new SlipwayError("unauthorized", "not signed in: POST /api/v1/session with the admin token");
    res.setHeader("Cache-Control", "no-store");
    res.json({ csrfToken: found.session.csrfToken });
  });

  router.delete("/session", async (req, res) => {
    const found = await findSession(req, sessions);
    if (found) {
      // A page elsewhere must not be able to sign the user out.
      if (!hasCsrfToken(req, found.session)) throw new SlipwayError("unauthorized", "missing or wrong X-CSRF-Token");
      await sessions.destroy(found.id);
    }
    res.clearCookie(SESSION_COOKIE, cookie);
    res.status(204).end();
  });

  return router;
}
