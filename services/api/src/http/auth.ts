import { safeEqual, SlipwayError } from "@slipway/core";
import type { Request, RequestHandler } from "express";
import type { Session, SessionStore } from "./session-store.js";

/** The dashboard's session cookie. */
export const SESSION_COOKIE = "slipway_session";
export const CSRF_HEADER = "x-csrf-token";

/** Methods that change state: with a session cookie they must carry the session's CSRF token. */
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const SIGN_IN_AGAIN = "send 'Authorization: Bearer <token>' with a valid token, or sign in to the dashboard again";

/** One cookie's value from a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session whose id the request's cookie carries, its idle expiry renewed; undefined when none. */
export async function findSession(req: Request, sessions: SessionStore): Promise<{ id: string; session: Session } | undefined> {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (!id) return undefined;
  const session = await sessions.touch(id);
  return session && { id, session };
}

/** Whether a state-changing request carries the session's CSRF token (compared in constant time). */
export function hasCsrfToken(req: Request, session: Session): boolean {
  const given = req.headers[CSRF_HEADER];
  return typeof given === "string" && safeEqual(given, session.csrfToken);
}

export interface AuthDeps {
  adminToken: string;
  sessions: SessionStore;
}

/**
 * The API's authentication: the administrator's bearer token, or a dashboard session cookie.
 * A request with an Authorization header is judged by it alone. With the cookie, every
 * state-changing method must carry the session's X-CSRF-Token: the cookie is sent by the
 * browser whoever asks, the token only by the dashboard's own pages.
 * A missing or wrong token, or an unknown or expired session, answers the same 401.
 */
export function requireAdmin(deps: AuthDeps): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1] || !safeEqual(match[1], deps.adminToken)) throw new SlipwayError("unauthorized", SIGN_IN_AGAIN);
      next();
      return;
    }
    const found = await findSession(req, deps.sessions);
    if (!found) throw new SlipwayError("unauthorized", SIGN_IN_AGAIN);
    // Not a matter of what the caller may see (those answer 404): the request is not proven to be the dashboard's.
    if (UNSAFE_METHODS.has(req.method) && !hasCsrfToken(req, found.session)) {
      throw new SlipwayError("unauthorized", "missing or wrong X-CSRF-Token: the dashboard sends the one GET /api/v1/session answers");
    }
    next();
  };
}
