import { SlipwayError } from "@slipway/core";
import express, { Router, type CookieOptions } from "express";
import { findSession, hasCsrfToken, SESSION_COOKIE, type Credentials } from "../http/auth.js";
import { asBody } from "../http/input.js";
import type { SessionStore } from "../http/session-store.js";
import type { SignInLimiter } from "../http/sign-in-limiter.js";

export interface SessionRouteDeps {
  credentials: Credentials;
  limiter: SignInLimiter;
  sessions: SessionStore;
  /** SLIPWAY_PUBLIC_URL: the cookie is Secure when the dashboard is served over https. */
  publicUrl: string;
}

/**
 * The dashboard's sign-in (CONTRACT §5 plus issues 6 and 7), under /api/v1 and before its
 * authentication: `POST /session {"username", "password"}` or `{"token"}` (the admin token) sets
 * the HttpOnly session cookie and answers the CSRF token and the user; `GET /session` answers them
 * again (the page cannot read the cookie); `DELETE /session` signs out. Failures are rate-limited.
 */
export function createSessionRoutes(deps: SessionRouteDeps): Router {
  const { sessions, credentials } = deps;
  const cookie: CookieOptions = {
    httpOnly: true,
    sameSite: "lax",
    secure: deps.publicUrl.startsWith("https:"),
    path: "/",
  };
  const router = Router();

  router.post("/session", express.json({ limit: "16kb" }), async (req, res) => {
    const address = req.ip ?? "unknown";
    const body = asBody(req.body);
    const { token, username, password } = body;
    let userId: string;
    if (typeof username === "string" && username !== "" && typeof password === "string") {
      const principal = await credentials.basic(username, password, address);
      // A personal access token's scope would not hold in a session: the password only.
      if (principal.via !== "password") throw new SlipwayError("unauthorized", "sign in with your password; personal access tokens are for the API and docker");
      userId = principal.user!.id;
    } else if (typeof token === "string" && token !== "") {
      // The admin token only: a personal access token's scope would not hold in a session.
      await deps.limiter.attempt("(admin token)", address);
      const principal = await credentials.bearer(token.trim()).catch(() => undefined);
      if (principal?.via !== "admin-token") {
        throw new SlipwayError("unauthorized", "that token was not accepted: give the admin token (printed by npm start, kept in $SLIPWAY_DATA_DIR/admin-token), or a username and password");
      }
      await deps.limiter.succeed("(admin token)", address);
      userId = principal.user!.id;
    } else {
      throw new SlipwayError("unauthorized", 'sign in with "username" and "password", or the admin token as "token"');
    }
    const { id, session } = await sessions.create(userId);
    res.cookie(SESSION_COOKIE, id, cookie);
    res.status(201).json({ csrfToken: session.csrfToken, user: await userView(userId) });
  });

  async function userView(userId: string) {
    const user = await credentials.store.accounts.getUser(userId);
    if (!user) throw new SlipwayError("unauthorized", "not signed in: that user no longer exists");
    return { username: user.username, admin: user.admin };
  }

  router.get("/session", async (req, res) => {
    const found = await findSession(req, sessions);
    if (!found) throw new SlipwayError("unauthorized", "not signed in: POST /api/v1/session with a username and password, or the admin token");
    res.setHeader("Cache-Control", "no-store");
    res.json({ csrfToken: found.session.csrfToken, user: await userView(found.session.userId) });
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
