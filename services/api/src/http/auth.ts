import { createHash } from "node:crypto";
import { generateToken, hashPassword, safeEqual, SlipwayError, verifyPassword, type Role } from "@slipway/core";
import type { Store, UserRecord } from "@slipway/store";
import type { Request, RequestHandler } from "express";
import pLimit from "p-limit";
import type { SignInLimiter } from "./sign-in-limiter.js";
import type { Session, SessionStore } from "./session-store.js";

/** Who is asking, and how far their credential reaches. */
export interface Principal {
  /** null: anonymous, who may read public repositories and nothing else. */
  user: UserRecord | null;
  /** A personal access token's scope caps its user's roles; a password, session or the admin token does not. */
  scope: Role;
  via: "anonymous" | "admin-token" | "token" | "password" | "session";
  /** A personal access token's expiry (null: none); what it mints may not outlive it. */
  tokenExpiresAt?: string | null;
  /** The dashboard session's id, when the caller came with one. */
  sessionId?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `authenticate` for every /api/v1 route. */
      principal?: Principal;
    }
  }
}

export const ANONYMOUS: Principal = { user: null, scope: "admin", via: "anonymous" };

/** The dashboard's session cookie. */
export const SESSION_COOKIE = "slipway_session";
export const CSRF_HEADER = "x-csrf-token";

/** Personal access tokens start with this, so that a password and a token are told apart, and scanners find leaked ones. */
export const ACCESS_TOKEN_PREFIX = "slw_";

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

/** A new personal access token and what the store keeps of it. */
export function newAccessToken(): { token: string; hash: string } {
  const token = `${ACCESS_TOKEN_PREFIX}${generateToken(32)}`;
  return { token, hash: hashAccessToken(token) };
}

/** Tokens are random and long: a SHA-256 is enough to keep, and finds one without scrypt's cost on every call. */
export function hashAccessToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export interface CredentialOptions {
  store: Store;
  adminToken: string;
  limiter: SignInLimiter;
  /** log2 of scrypt's N for new password hashes (SLIPWAY_PASSWORD_COST). */
  passwordCost: number;
}

/**
 * Checks credentials, wherever they come from: the API's Authorization header, the dashboard's
 * sign-in, the registry's token service and Docker's search. Failures are counted per user and
 * address, and per address; over the limit, even a right password is refused for a while.
 */
export interface Credentials {
  readonly store: Store;
  /** The administrator's token or a personal access token. */
  bearer(token: string): Promise<Principal>;
  /** A username with a password or a personal access token (HTTP Basic, `docker login`). */
  basic(username: string, secret: string, address: string): Promise<Principal>;
  /** The first administrator, who holds the admin token (created on first use). */
  administrator(): Promise<UserRecord>;
  hashPassword(password: string): Promise<string>;
}

const WRONG = "incorrect username or password";

export function createCredentials(options: CredentialOptions): Credentials {
  const { store, limiter } = options;
  // scrypt takes about 0.5 s and 128 MiB at the default cost: two at a time keeps the API answering.
  const hashing = pLimit(2);
  let decoy: Promise<string> | undefined;
  let administrator: Promise<UserRecord> | undefined;

  async function firstAdministrator(): Promise<UserRecord> {
    const admins = (await store.accounts.listUsers()).filter((user) => user.admin);
    const first = admins.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))[0];
    if (first) return first;
    try {
      return await store.accounts.createUser({ username: "admin", passwordHash: null, admin: true });
    } catch (err) {
      // Another API process made it first.
      const made = await store.accounts.findUser("admin");
      if (made?.admin) return made;
      throw err;
    }
  }

  async function byToken(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return undefined;
    const found = await store.accounts.useToken(hashAccessToken(token));
    return found && { user: found.user, scope: found.token.scope, via: "token", tokenExpiresAt: found.token.expiresAt };
  }

  const credentials: Credentials = {
    store,
    administrator() {
      administrator ??= firstAdministrator().catch((err: unknown) => {
        administrator = undefined;
        throw err;
      });
      return administrator;
    },

    async bearer(token) {
      if (safeEqual(token, options.adminToken)) return { user: await credentials.administrator(), scope: "admin", via: "admin-token" };
      const principal = await byToken(token);
      if (principal === undefined) throw new SlipwayError("unauthorized", SIGN_IN_AGAIN);
      return principal;
    },

    async basic(username, secret, address) {
      const name = username.trim().toLowerCase();
      await limiter.attempt(name, address);
      const user = await store.accounts.findUser(name);
      let principal: Principal | undefined;
      if (secret.startsWith(ACCESS_TOKEN_PREFIX)) {
        const found = await byToken(secret);
        // A token is its user's only: someone else's token with this username is a wrong password.
        if (found?.user?.id === user?.id && user !== undefined) principal = found;
      } else {
        const stored = user === undefined ? null : await store.accounts.passwordHashOf(user.id);
        // An unknown user costs as much as a known one: the time of the answer says nothing.
        decoy ??= hashPassword(generateToken(16), options.passwordCost);
        const matches = await hashing(async () => verifyPassword(secret, stored ?? (await decoy!)));
        if (matches && user !== undefined && stored !== null) principal = { user, scope: "admin", via: "password" };
      }
      if (principal === undefined) throw new SlipwayError("unauthorized", WRONG);
      await limiter.succeed(name, address);
      return principal;
    },

    hashPassword: (password) => hashing(() => hashPassword(password, options.passwordCost)),
  };
  return credentials;
}

/** "Basic base64(user:secret)" → its parts, or undefined when the header is not that. */
export function readBasic(header: string | undefined): { username: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export interface AuthDeps {
  credentials: Credentials;
  sessions: SessionStore;
  store: Store;
  /** SLIPWAY_PUBLIC_URL: its origin is the dashboard's, the one origin whose pages may use Basic credentials. */
  publicUrl: string;
}

/**
 * Whether a browser sent this request from another site's page. Browsers say where a request comes
 * from (Sec-Fetch-Site); older ones at least name the page's origin on a POST (Origin), which is
 * then compared with the public URL's and with the host the request was sent to. The docker CLI,
 * curl and scripts send neither.
 */
function fromAnotherSite(req: Request, ownOrigin: string): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined) return site === "cross-site" || site === "same-site";
  const origin = req.headers.origin;
  if (origin === undefined || origin === ownOrigin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    // "null": a sandboxed page or a file.
    return true;
  }
}

/**
 * The API's authentication: a bearer token (the admin token or a personal access token), HTTP
 * Basic (a username with a password or token), or a dashboard session cookie; no credential at all
 * is the anonymous caller, who sees public repositories only. A request with an Authorization
 * header is judged by it alone. With the cookie, every state-changing method must carry the
 * session's X-CSRF-Token: the cookie is sent by the browser whoever asks, the token only by the
 * dashboard's own pages. Basic credentials are the same kind of thing once a browser has them
 * (it keeps what was typed into its sign-in prompt, for `/v2/` say, and sends them with every
 * request to the origin): a state-changing request with them from another site's page is refused.
 * A wrong credential, or an unknown or expired session, answers 401.
 */
export function authenticate(deps: AuthDeps): RequestHandler {
  const ownOrigin = new URL(deps.publicUrl).origin;
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      const basic = readBasic(header);
      if (bearer !== undefined) req.principal = await deps.credentials.bearer(bearer);
      else if (basic !== undefined) {
        if (UNSAFE_METHODS.has(req.method) && fromAnotherSite(req, ownOrigin)) {
          throw new SlipwayError("forbidden", "a change with HTTP Basic credentials from another site's page is refused: use a bearer token");
        }
        req.principal = await deps.credentials.basic(basic.username, basic.secret, req.ip ?? "unknown");
      } else throw new SlipwayError("unauthorized", SIGN_IN_AGAIN);
      next();
      return;
    }
    if (readCookie(req.headers.cookie, SESSION_COOKIE) === undefined) {
      req.principal = ANONYMOUS;
      next();
      return;
    }
    const found = await findSession(req, deps.sessions);
    const user = found && (await deps.store.accounts.getUser(found.session.userId));
    if (!found || !user) throw new SlipwayError("unauthorized", SIGN_IN_AGAIN);
    // Not a matter of what the caller may see (those answer 404): the request is not proven to be the dashboard's.
    if (UNSAFE_METHODS.has(req.method) && !hasCsrfToken(req, found.session)) {
      throw new SlipwayError("unauthorized", "missing or wrong X-CSRF-Token: the dashboard sends the one GET /api/v1/session answers");
    }
    req.principal = { user, scope: "admin", via: "session", sessionId: found.id };
    next();
  };
}

/** The caller, who must have signed in: SlipwayError("unauthorized") for the anonymous one. */
export function signedIn(req: Request): Principal & { user: UserRecord } {
  const principal = req.principal ?? ANONYMOUS;
  if (principal.user === null) throw new SlipwayError("unauthorized", "sign in first: send a token or a username and password");
  return principal as Principal & { user: UserRecord };
}
