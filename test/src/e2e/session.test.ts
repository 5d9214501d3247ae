import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startSlipway, type Slipway } from "../support/slipway.js";

/** The session cookie's value in a Set-Cookie header, and the header's attributes, lowercased. */
function parseSetCookie(header: string | null): { value: string; attributes: string[] } {
  assert.ok(header, "a Set-Cookie header");
  const [pair, ...attributes] = header.split(";").map((p) => p.trim());
  const [name, value] = pair!.split("=");
  assert.equal(name, "slipway_session");
  return { value: value ?? "", attributes: attributes.map((a) => a.toLowerCase()) };
}

async function call(slipway: Slipway, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${slipway.url}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && (res.headers.get("content-type") ?? "").includes("json") ? (JSON.parse(text) as any) : text };
}

async function signIn(slipway: Slipway): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
  const answer = await call(slipway, "POST", "/session", {}, { token: slipway.adminToken });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const setCookie = answer.headers.get("set-cookie")!;
  return { cookie: `slipway_session=${parseSetCookie(setCookie).value}`, csrfToken: answer.body.csrfToken, setCookie };
}

describe("dashboard sessions: POST|GET|DELETE /api/v1/session", () => {
  let slipway: Slipway;
  let secure: Slipway;

  before(async () => {
    [slipway, secure] = await Promise.all([
      startSlipway({ worker: false }),
      // Behind an https proxy on this machine: the cookie must be Secure, and the client's address is the proxy's X-Forwarded-For.
      startSlipway({ worker: false, env: { SLIPWAY_PUBLIC_URL: "https://slipway.example.org", SLIPWAY_TRUST_PROXY: "loopback" } }),
    ]);
  });
  after(() => Promise.all([slipway?.stop(), secure?.stop()]));

  it("signs in with the admin token: an HttpOnly, SameSite=Lax session cookie and a CSRF token", async () => {
    const { cookie, csrfToken, setCookie } = await signIn(slipway);
    const { value, attributes } = parseSetCookie(setCookie);
    assert.ok(value.length >= 40, "a long random session id");
    assert.ok(attributes.includes("httponly"), setCookie);
    assert.ok(attributes.includes("samesite=lax"), setCookie);
    assert.ok(attributes.includes("path=/"), setCookie);
    assert.ok(!attributes.includes("secure"), "not Secure over plain http");
    assert.ok(csrfToken.length >= 40);
    assert.notEqual(csrfToken, value);

    const again = await call(slipway, "GET", "/session", { cookie });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { csrfToken, user: { username: "admin", admin: true } });
    assert.equal(again.headers.get("cache-control"), "no-store");
    assert.equal((await call(slipway, "GET", "/repositories", { cookie })).status, 200);
  });

  it("signs in with a password, never with a personal access token (its scope would not hold)", async () => {
    assert.equal((await slipway.api("POST", "/users", { username: "sessioner", password: "sessioner-password" })).status, 201);
    const token = await fetch(`${slipway.url}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("sessioner:sessioner-password").toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "ci", scope: "read" }),
    });
    const { token: pat } = (await token.json()) as { token: string };
    const byToken = await call(slipway, "POST", "/session", {}, { username: "sessioner", password: pat });
    assert.equal(byToken.status, 401);
    assert.equal(byToken.headers.get("set-cookie"), null);
    const byPassword = await call(slipway, "POST", "/session", {}, { username: "sessioner", password: "sessioner-password" });
    assert.equal(byPassword.status, 201);
    assert.deepEqual(byPassword.body.user, { username: "sessioner", admin: false });
  });

  it("ends a user's other sessions when their password changes; the one that changed it stays", async () => {
    assert.equal((await slipway.api("POST", "/users", { username: "changer", password: "changer-password" })).status, 201);
    const signInAs = async () => {
      const answer = await call(slipway, "POST", "/session", {}, { username: "changer", password: "changer-password" });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return { cookie: `slipway_session=${parseSetCookie(answer.headers.get("set-cookie")).value}`, csrfToken: answer.body.csrfToken as string };
    };
    const [laptop, phone, kiosk] = [await signInAs(), await signInAs(), await signInAs()];
    const admins = await signIn(slipway);
    // A session that has ended already is no trouble.
    assert.equal((await call(slipway, "DELETE", "/session", { cookie: kiosk.cookie, "x-csrf-token": kiosk.csrfToken })).status, 204);

    const changed = await call(slipway, "PATCH", "/users/me", { cookie: laptop.cookie, "x-csrf-token": laptop.csrfToken }, {
      currentPassword: "changer-password",
      password: "changer-new-password",
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await call(slipway, "GET", "/users/me", { cookie: laptop.cookie })).status, 200, "the session that changed it");
    assert.equal((await call(slipway, "GET", "/users/me", { cookie: phone.cookie })).status, 401, "another session of that user");
    assert.equal((await call(slipway, "GET", "/users/me", { cookie: admins.cookie })).status, 200, "another user's session");
    const again = await call(slipway, "POST", "/session", {}, { username: "changer", password: "changer-new-password" });
    assert.equal(again.status, 201);
  });

  it("lets a token that expires make tokens that expire no later", async () => {
    assert.equal((await slipway.api("POST", "/users", { username: "minter", password: "minter-password" })).status, 201);
    const basic = { authorization: `Basic ${Buffer.from("minter:minter-password").toString("base64")}` };
    const inADay = new Date(Date.now() + 86_400_000).toISOString();
    const shortLived = await call(slipway, "POST", "/tokens", basic, { name: "for a day", scope: "admin", expiresAt: inADay });
    assert.equal(shortLived.status, 201, JSON.stringify(shortLived.body));
    const bearer = { authorization: `Bearer ${shortLived.body.token}` };
    for (const [what, body] of [
      ["no expiry", { name: "for ever", scope: "read" }],
      ["a later expiry", { name: "for a year", scope: "read", expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString() }],
    ] as const) {
      const refused = await call(slipway, "POST", "/tokens", bearer, body);
      assert.equal(refused.status, 403, what);
      assert.match(refused.body.error.message, /expire no later/, what);
    }
    const within = await call(slipway, "POST", "/tokens", bearer, { name: "for an hour", scope: "read", expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal(within.status, 201, JSON.stringify(within.body));
    // Nor can it set a password, which would sign it in for good through a session.
    const password = await call(slipway, "PATCH", "/users/me", bearer, { password: "minted-password", currentPassword: "minter-password" });
    assert.equal(password.status, 403);
    assert.match(password.body.error.message, /token cannot change a password/);
    // A token without an expiry, or a password, is not bound.
    const forever = await call(slipway, "POST", "/tokens", basic, { name: "ci", scope: "admin" });
    assert.equal((await call(slipway, "POST", "/tokens", { authorization: `Bearer ${forever.body.token}` }, { name: "ci 2", scope: "read" })).status, 201);
  });

  it("counts a burst of guesses before hashing them: at most 10 are tried, the rest wait", async () => {
    assert.equal((await slipway.api("POST", "/users", { username: "guessed", password: "guessed-password" })).status, 201);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(slipway, "POST", "/session", {}, { username: "guessed", password: `guess-${i}` })),
    );
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 401).length, 10, statuses.join(" "));
    assert.equal(statuses.filter((s) => s === 429).length, 20, statuses.join(" "));
  });

  it("refuses a wrong or missing token, and sets no cookie", async () => {
    for (const body of [{ token: "not-the-token" }, { token: "" }, {}, { token: 42 }]) {
      const answer = await call(slipway, "POST", "/session", {}, body);
      assert.equal(answer.status, 401, JSON.stringify(body));
      assert.equal(answer.body.error.code, "unauthorized");
      assert.equal(answer.headers.get("set-cookie"), null);
    }
    assert.equal((await call(slipway, "GET", "/session")).status, 401);
    assert.equal((await call(slipway, "GET", "/session", { cookie: "slipway_session=made-up" })).status, 401);
    assert.equal((await call(slipway, "GET", "/repositories", { cookie: "slipway_session=made-up" })).status, 401);
  });

  it("needs the session's X-CSRF-Token on every state-changing call made with the cookie", async () => {
    const { cookie, csrfToken } = await signIn(slipway);
    const repo = { namespace: "csrf", name: `r${Date.now()}` };
    for (const [what, headers] of [
      ["no token", { cookie }],
      ["a wrong token", { cookie, "x-csrf-token": "x".repeat(csrfToken.length) }],
      ["another session's token", { cookie, "x-csrf-token": (await signIn(slipway)).csrfToken }],
    ] as const) {
      const refused = await call(slipway, "POST", "/repositories", headers, repo);
      assert.equal(refused.status, 401, what);
      assert.equal(refused.body.error.code, "unauthorized");
      assert.match(refused.body.error.message, /X-CSRF-Token/);
    }
    assert.equal((await call(slipway, "GET", `/repositories/${repo.namespace}/${repo.name}`, { cookie })).status, 404, "nothing was created");

    const created = await call(slipway, "POST", "/repositories", { cookie, "x-csrf-token": csrfToken }, repo);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const patched = await call(slipway, "PATCH", `/repositories/${repo.namespace}/${repo.name}`, { cookie }, { description: "no" });
    assert.equal(patched.status, 401);
    const deleted = await call(slipway, "DELETE", `/repositories/${repo.namespace}/${repo.name}`, { cookie, "x-csrf-token": csrfToken });
    assert.equal(deleted.status, 204);
  });

  it("keeps the bearer token working, with no CSRF token, and judges a request by its Authorization header first", async () => {
    const bearer = { authorization: `Bearer ${slipway.adminToken}` };
    const created = await call(slipway, "POST", "/repositories", bearer, { namespace: "bearer", name: `r${Date.now()}` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { cookie } = await signIn(slipway);
    const wrong = await call(slipway, "GET", "/repositories", { cookie, authorization: "Bearer wrong" });
    assert.equal(wrong.status, 401, "a wrong bearer token is not rescued by a good cookie");
  });

  it("refuses a change made with Basic credentials from another site's page, as a browser that keeps them would send it", async () => {
    assert.equal((await slipway.api("POST", "/users", { username: "basic", password: "basic-password" })).status, 201);
    const basic = { authorization: `Basic ${Buffer.from("basic:basic-password").toString("base64")}` };
    const create = (headers: Record<string, string>) => call(slipway, "POST", "/orgs", { ...basic, ...headers }, { name: `b${Math.random().toString(36).slice(2, 10)}` });
    for (const [from, headers] of [
      ["another site", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
      ["a sibling site", { "sec-fetch-site": "same-site", origin: "https://other.slipway.example" }],
      ["an older browser on another site", { origin: "https://evil.example" }],
      ["a sandboxed page", { origin: "null" }],
    ] as const) {
      const refused = await create(headers);
      assert.equal(refused.status, 403, from);
      assert.match(refused.body.error.message, /another site's page/, from);
    }
    // Reading is not a change; the dashboard's own pages, docker, curl and scripts are not another site.
    assert.equal((await call(slipway, "GET", "/users/me", { ...basic, "sec-fetch-site": "cross-site" })).status, 200);
    for (const [from, headers] of [
      ["the dashboard's page", { "sec-fetch-site": "same-origin", origin: slipway.url }],
      ["an older browser on the same host", { origin: slipway.url }],
      ["a typed URL", { "sec-fetch-site": "none" }],
      ["curl", {}],
    ] as const) {
      assert.equal((await create(headers)).status, 201, from);
    }
  });

  it("signs out: the session ends, and only with the CSRF token", async () => {
    const { cookie, csrfToken } = await signIn(slipway);
    const forged = await call(slipway, "DELETE", "/session", { cookie });
    assert.equal(forged.status, 401, "a page elsewhere cannot sign the user out");
    assert.equal((await call(slipway, "GET", "/session", { cookie })).status, 200);

    const out = await call(slipway, "DELETE", "/session", { cookie, "x-csrf-token": csrfToken });
    assert.equal(out.status, 204);
    const cleared = out.headers.get("set-cookie") ?? "";
    assert.match(cleared, /^slipway_session=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
    assert.equal((await call(slipway, "GET", "/session", { cookie })).status, 401);
    assert.equal((await call(slipway, "GET", "/repositories", { cookie })).status, 401);
    assert.equal((await call(slipway, "DELETE", "/session")).status, 204, "signing out twice is harmless");
  });

  it("marks the cookie Secure when SLIPWAY_PUBLIC_URL is https", async () => {
    const { setCookie } = await signIn(secure);
    assert.ok(parseSetCookie(setCookie).attributes.includes("secure"), setCookie);
  });

  it("refuses sign-ins for a while after 10 failures a minute from one address", async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal((await call(secure, "POST", "/session", {}, { token: `wrong-${i}` })).status, 401);
    }
    const locked = await call(secure, "POST", "/session", {}, { token: secure.adminToken });
    assert.equal(locked.status, 429, "even the right token waits");
    assert.equal(locked.body.error.code, "rate_limited");
    assert.ok(Number(locked.headers.get("retry-after")) > 0);
    const bearer = await call(secure, "GET", "/repositories", { authorization: `Bearer ${secure.adminToken}` });
    assert.equal(bearer.status, 200, "the API's bearer token is not locked out");
  });

  it("counts sign-in failures by the client's address: a trusted proxy's X-Forwarded-For, never an untrusted one", async () => {
    const failTenTimes = async (on: Slipway) => {
      assert.equal((await on.api("POST", "/users", { username: "proxied", password: "proxied-password" })).status, 201);
      for (let i = 0; i < 10; i++) {
        const wrong = await call(on, "POST", "/session", { "x-forwarded-for": "203.0.113.7" }, { username: "proxied", password: `wrong-${i}` });
        assert.equal(wrong.status, 401);
      }
    };
    const signInFrom = (on: Slipway, address: string) => call(on, "POST", "/session", { "x-forwarded-for": address }, { username: "proxied", password: "proxied-password" });

    // Behind a trusted proxy: each client has its own count.
    await failTenTimes(secure);
    assert.equal((await signInFrom(secure, "203.0.113.8")).status, 201, "another client of the proxy");
    assert.equal((await signInFrom(secure, "203.0.113.7")).status, 429, "the client that failed");

    // Straight to Slipway: anyone can send the header, so it changes nothing.
    await failTenTimes(slipway);
    assert.equal((await signInFrom(slipway, "203.0.113.8")).status, 429);
  });

  it("never writes the session id or the CSRF token to its log", async () => {
    const { cookie, csrfToken } = await signIn(slipway);
    await call(slipway, "POST", "/repositories", { cookie, "x-csrf-token": csrfToken }, { namespace: "logs", name: `r${Date.now()}` });
    const sessionId = cookie.split("=")[1]!;
    const output = slipway.output();
    assert.ok(output.includes("POST"), "requests are logged");
    assert.ok(!output.includes(sessionId), "the session id is not logged");
    assert.ok(!output.includes(csrfToken), "the CSRF token is not logged");
    assert.ok(!output.includes(slipway.adminToken), "the admin token is not logged");
  });
});
