// The dashboard talks to Slipway through the same /api/v1 routes scripts use, signed in by
// an HttpOnly session cookie; state-changing calls carry the session's CSRF token.

let csrfToken = null;
/** Who signed in, as the session answers it: `{username, admin}`. */
let user = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Called when a call answers 401: the session ended (or never was). */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export const isSignedIn = () => csrfToken !== null;

/** The signed-in user, `{username, admin}`, or null. Hiding what they may not do is a courtesy: the API decides. */
export const currentUser = () => user;

/** `/repositories/acme/hello` from "acme/hello", each part encoded. */
export const repoPath = (fullName) => `/repositories/${fullName.split("/").map(encodeURIComponent).join("/")}`;

/** Calls /api/v1 + path; answers the parsed JSON (or text), null for 204; throws ApiError. */
export async function api(path, options = {}) {
  const method = options.method ?? "GET";
  const headers = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const type = res.headers.get("content-type") ?? "";
  const body = res.status === 204 ? null : type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const error = new ApiError(res.status, body?.error?.code ?? "http_error", body?.error?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && options.signedIn !== false) {
      csrfToken = null;
      user = null;
      onSignedOut(error);
    }
    throw error;
  }
  return body;
}

/** Remembers what POST or GET /session answered. */
function keepSession(session) {
  csrfToken = session.csrfToken;
  user = session.user ?? null;
}

/** Whether a session cookie is there; learns its CSRF token and its user. */
export async function resumeSession() {
  try {
    keepSession(await api("/session", { signedIn: false }));
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return false;
    throw err;
  }
}

export async function signIn(credentials) {
  keepSession(await api("/session", { method: "POST", body: credentials, signedIn: false }));
}

export async function signOut() {
  try {
    await api("/session", { method: "DELETE", signedIn: false });
  } finally {
    csrfToken = null;
    user = null;
  }
}
