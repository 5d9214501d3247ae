import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { waitFor, type Slipway } from "../support/slipway.js";

/**
 * Issue 7's authorization matrix: every /api/v1 route (sign-in's /session aside: session.test.ts),
 * called by each kind of caller, on a public and on a private repository of an organisation. Every
 * cell asserts the exact status, and the error code of a 4xx. A private repository is invisible to
 * whoever may not read it (404, never 403, so that its name does not leak); a visible one answers 403
 * `forbidden` to a signed-in caller without the role, and 401 to an anonymous one (signing in may help).
 *
 * Every call is repeatable in any order: updates write what is there already, and what a route
 * deletes or what must be new for it is made for each cell by the row's `prepare` (as the
 * administrator). Builds run (and fail at once: the source has no Dockerfile), so the build every
 * build route is called on has ended: a cancel that gets through answers 409, a retry 202; and the
 * webhook's delivery has been tried (localhost is refused when sending, so it fails at once).
 */

const CALLERS = ["anonymous", "nonMember", "teamRead", "teamWrite", "teamAdmin", "orgOwner", "administrator", "readToken"] as const;
type Caller = (typeof CALLERS)[number];
/** The user behind each caller: the administrator is the admin token's; the read token is the team admin's. */
const USER_OF: Record<Exclude<Caller, "anonymous">, string> = {
  nonMember: "stranger",
  teamRead: "reader",
  teamWrite: "writer",
  teamAdmin: "keeper",
  orgOwner: "owner",
  administrator: "admin",
  readToken: "keeper",
};
const password = (user: string) => `${user}-password`;
const ERROR_CODE: Record<number, string> = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict" };

interface RepoFixture {
  name: "pub" | "priv";
  private: boolean;
  build: string;
  rule: string;
  webhook: string;
  delivery: string;
}
interface Cell {
  caller: Caller;
  repo: RepoFixture;
}
type Vars = Record<string, string>;

/**
 * Who gets through to a repository route, by what it needs; "ok" is the route's success status.
 * Columns: anonymous, non-member, team read, team write, team admin, org owner, administrator, read-scoped token.
 */
const NEEDS = {
  read: { pub: "ok ok ok ok ok ok ok ok", priv: "404 404 ok ok ok ok ok ok" },
  write: { pub: "401 403 403 ok ok ok ok 403", priv: "404 404 403 ok ok ok ok 403" },
  admin: { pub: "401 403 403 403 ok ok ok 403", priv: "404 404 403 403 ok ok ok 403" },
  /** Stars: signed in first, then read. */
  signedInRead: { pub: "401 ok ok ok ok ok ok ok", priv: "401 404 ok ok ok ok ok ok" },
  /** A team's access to a repository: the organisation's owners and the repository's admins (organisations answer 404 to whoever is not part of them). */
  teamAccess: { pub: "401 404 403 403 ok ok ok 403", priv: "401 404 403 403 ok ok ok 403" },
} as const;

interface RepoRow {
  route: string;
  needs: keyof typeof NEEDS;
  ok: number;
  body?: (cell: Cell) => unknown;
  prepare?: (cell: Cell) => Promise<Vars>;
}
interface GlobalRow {
  route: string;
  /** One status per caller, in CALLERS' order. */
  expect: string;
  body?: (caller: Caller) => unknown;
  prepare?: (caller: Caller) => Promise<Vars>;
}

let git: GitServer;
let slipway: Slipway;
let readToken: string;
const repos = {} as Record<"pub" | "priv", RepoFixture>;
let serial = 0;
const fresh = (prefix: string) => `${prefix}${++serial}`;

const basic = (user: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}` });

/** The caller's credentials; `fullTrust` gives the read token's user's password instead (to prepare a cell as them). */
function auth(caller: Caller, fullTrust = false): Record<string, string> {
  if (caller === "anonymous") return {};
  if (caller === "administrator") return { authorization: `Bearer ${slipway.adminToken}` };
  if (caller === "readToken" && !fullTrust) return { authorization: `Bearer ${readToken}` };
  return basic(USER_OF[caller], password(USER_OF[caller]));
}

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${slipway.url}/api/v1${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (res.headers.get("content-type") ?? "").includes("json") && text !== "" ? JSON.parse(text) : text };
}

/** A call that must answer `status` (set-up, not under test); its body. */
async function as(caller: Caller, method: string, path: string, body: unknown, status: number): Promise<any> {
  const res = await call(method, path, auth(caller, true), body);
  assert.equal(res.status, status, `${caller} ${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}
const admin = (method: string, path: string, body: unknown, status: number) => as("administrator", method, path, body, status);

const SOURCE = () => ({ provider: "github", repository: "acme/app", cloneUrl: git.url("acme/app") });
const MAIN = { sourceType: "branch", sourceName: "main" };
const RULE = { sourceType: "tag", sourceName: "never", dockerTag: "never" };
const WEBHOOK = { name: "refused", url: "http://localhost:9/authz" };
const TEAMS = [["readers", "reader", "read"], ["writers", "writer", "write"], ["keepers", "keeper", "admin"]] as const;

/** A repository of acme with the teams' roles on it. */
async function createRepository(name: string, isPrivate: boolean): Promise<void> {
  await as("orgOwner", "POST", "/repositories", { namespace: "acme", name, private: isPrivate }, 201);
  for (const [team, , role] of TEAMS) await as("orgOwner", "PUT", `/orgs/acme/teams/${team}/repositories/${name}`, { role }, 200);
}

/** What the build, rule, webhook and delivery routes are called on; the build and the delivery have ended. */
async function fixture(name: "pub" | "priv"): Promise<RepoFixture> {
  await createRepository(name, name === "priv");
  const path = `/repositories/acme/${name}`;
  await admin("PUT", `${path}/source`, SOURCE(), 201);
  const rule = await admin("POST", `${path}/rules`, RULE, 201);
  await admin("PUT", `${path}/variables/KEPT`, { value: "kept" }, 201);
  const webhook = await admin("POST", `${path}/webhooks`, WEBHOOK, 201);
  const build = (await admin("POST", `${path}/builds`, MAIN, 202)).builds[0];
  assert.equal((await slipway.waitForBuild(build.id)).status, "failed");
  const delivery = await waitFor(`${name}'s webhook delivery`, async () => {
    const [first] = (await admin("GET", `${path}/webhooks/${webhook.id}/deliveries`, undefined, 200)).deliveries;
    return first?.status === "failed" ? first : undefined;
  });
  return { name, private: name === "priv", build: build.id, rule: rule.id, webhook: webhook.id, delivery: delivery.id };
}

/** Makes something under the repository for a cell to delete; its id under `key`. */
const made = (collection: string, body: unknown, key: string) => async ({ repo }: Cell) => {
  return { [key]: (await admin("POST", `/repositories/acme/${repo.name}/${collection}`, body, 201)).id as string };
};
/** Waits until the delivery is not being tried: a redelivery of a pending one answers 409 by design. */
async function settled({ repo }: Cell): Promise<Vars> {
  const path = `/repositories/acme/${repo.name}/webhooks/${repo.webhook}/deliveries/${repo.delivery}`;
  await waitFor("the delivery to settle", async () => ((await admin("GET", path, undefined, 200)).status === "pending" ? undefined : true));
  return {};
}

const REPO_ROWS: RepoRow[] = [
  { route: "GET /repositories/{repo}", needs: "read", ok: 200 },
  { route: "PATCH /repositories/{repo}", needs: "admin", ok: 200, body: () => ({ description: "patched" }) },
  {
    route: "DELETE /repositories/{repo}",
    needs: "admin",
    ok: 204,
    prepare: async ({ repo }) => {
      const name = fresh("gone");
      await createRepository(name, repo.private);
      return { repo: `acme/${name}` };
    },
  },
  { route: "PUT /repositories/{repo}/star", needs: "signedInRead", ok: 200 },
  { route: "DELETE /repositories/{repo}/star", needs: "signedInRead", ok: 200 },
  { route: "GET /repositories/{repo}/source", needs: "admin", ok: 200 },
  // Linked already: a re-link answers 200.
  { route: "PUT /repositories/{repo}/source", needs: "admin", ok: 200, body: SOURCE },
  { route: "GET /repositories/{repo}/rules", needs: "read", ok: 200 },
  { route: "POST /repositories/{repo}/rules", needs: "admin", ok: 201, body: () => RULE },
  { route: "POST /repositories/{repo}/rules/match", needs: "read", ok: 200, body: () => MAIN },
  { route: "PATCH /repositories/{repo}/rules/{rule}", needs: "admin", ok: 200, body: () => ({ dockerTag: "patched" }) },
  { route: "DELETE /repositories/{repo}/rules/{rule}", needs: "admin", ok: 204, prepare: made("rules", RULE, "rule") },
  { route: "GET /repositories/{repo}/builds", needs: "read", ok: 200 },
  { route: "POST /repositories/{repo}/builds", needs: "write", ok: 202, body: () => MAIN },
  { route: "GET /builds/{build}", needs: "read", ok: 200 },
  { route: "GET /builds/{build}/logs", needs: "read", ok: 200 },
  // The build has ended: whoever may cancel it is told so (409 conflict), never 401/403/404.
  { route: "POST /builds/{build}/cancel", needs: "write", ok: 409 },
  { route: "POST /builds/{build}/retry", needs: "write", ok: 202 },
  { route: "GET /repositories/{repo}/triggers", needs: "admin", ok: 200 },
  { route: "POST /repositories/{repo}/triggers", needs: "admin", ok: 201, body: () => ({ name: "t" }) },
  { route: "DELETE /repositories/{repo}/triggers/{trigger}", needs: "admin", ok: 204, prepare: made("triggers", { name: "t" }, "trigger") },
  { route: "GET /repositories/{repo}/variables", needs: "admin", ok: 200 },
  { route: "GET /repositories/{repo}/variables/{key}", needs: "admin", ok: 200 },
  { route: "PUT /repositories/{repo}/variables/{key}", needs: "admin", ok: 200, body: () => ({ value: "kept" }) },
  {
    route: "DELETE /repositories/{repo}/variables/{key}",
    needs: "admin",
    ok: 204,
    prepare: async ({ repo }) => {
      const key = fresh("GONE");
      await admin("PUT", `/repositories/acme/${repo.name}/variables/${key}`, { value: "v" }, 201);
      return { key };
    },
  },
  { route: "GET /repositories/{repo}/webhooks", needs: "admin", ok: 200 },
  { route: "POST /repositories/{repo}/webhooks", needs: "admin", ok: 201, body: () => WEBHOOK },
  { route: "GET /repositories/{repo}/webhooks/{webhook}", needs: "admin", ok: 200 },
  { route: "DELETE /repositories/{repo}/webhooks/{webhook}", needs: "admin", ok: 204, prepare: made("webhooks", WEBHOOK, "webhook") },
  { route: "GET /repositories/{repo}/webhooks/{webhook}/deliveries", needs: "admin", ok: 200 },
  { route: "GET /repositories/{repo}/webhooks/{webhook}/deliveries/{delivery}", needs: "admin", ok: 200 },
  { route: "POST /repositories/{repo}/webhooks/{webhook}/deliveries/{delivery}/redeliver", needs: "admin", ok: 202, prepare: settled },
  { route: "PUT /orgs/acme/teams/scratch/repositories/{name}", needs: "teamAccess", ok: 200, body: () => ({ role: "read" }) },
  {
    route: "DELETE /orgs/acme/teams/scratch/repositories/{name}",
    needs: "teamAccess",
    ok: 200,
    prepare: async ({ repo }) => {
      await admin("PUT", `/orgs/acme/teams/scratch/repositories/${repo.name}`, { role: "read" }, 200);
      return {};
    },
  },
];

// Columns: anonymous, non-member, team read, team write, team admin, org owner, administrator, read-scoped token.
const GLOBAL_ROWS: GlobalRow[] = [
  { route: "GET /repositories", expect: "200 200 200 200 200 200 200 200" },
  { route: "POST /repositories", expect: "401 403 403 403 403 201 201 403", body: () => ({ namespace: "acme", name: fresh("made") }) },
  { route: "GET /deliveries", expect: "401 403 403 403 403 403 200 403" },
  { route: "POST /users", expect: "401 403 403 403 403 403 201 403", body: () => ({ username: fresh("user"), password: "long-enough" }) },
  { route: "GET /users", expect: "401 403 403 403 403 403 200 403" },
  { route: "GET /users/me", expect: "401 200 200 200 200 200 200 200" },
  {
    route: "PATCH /users/me",
    expect: "401 200 200 200 200 200 200 403",
    // The same password again (the administrator's user gets one the first time).
    body: (caller) => ({ password: password(caller === "anonymous" ? "x" : USER_OF[caller]), currentPassword: password(caller === "anonymous" ? "x" : USER_OF[caller]) }),
  },
  { route: "POST /tokens", expect: "401 201 201 201 201 201 201 403", body: () => ({ name: "t", scope: "read" }) },
  { route: "GET /tokens", expect: "401 200 200 200 200 200 200 200" },
  {
    route: "DELETE /tokens/{token}",
    expect: "401 204 204 204 204 204 204 403",
    // The caller's own token (for the read token: another of its user's).
    prepare: async (caller) => ({ token: caller === "anonymous" ? "none" : (await as(caller, "POST", "/tokens", { name: "gone", scope: "read" }, 201)).id }),
  },
  { route: "POST /orgs", expect: "401 201 201 201 201 201 201 403", body: () => ({ name: fresh("org") }) },
  { route: "GET /orgs", expect: "401 200 200 200 200 200 200 200" },
  { route: "GET /orgs/acme", expect: "401 404 200 200 200 200 200 200" },
  { route: "PUT /orgs/acme/owners/owner", expect: "401 404 403 403 403 200 200 403" },
  { route: "DELETE /orgs/acme/owners/spare", expect: "401 404 403 403 403 200 200 403", prepare: () => admin("PUT", "/orgs/acme/owners/spare", undefined, 200).then(() => ({})) },
  { route: "POST /orgs/acme/teams", expect: "401 404 403 403 403 201 201 403", body: () => ({ name: fresh("team") }) },
  { route: "GET /orgs/acme/teams", expect: "401 404 200 200 200 200 200 200" },
  { route: "GET /orgs/acme/teams/readers", expect: "401 404 200 200 200 200 200 200" },
  {
    route: "DELETE /orgs/acme/teams/{team}",
    expect: "401 404 403 403 403 204 204 403",
    prepare: async () => ({ team: (await admin("POST", "/orgs/acme/teams", { name: fresh("team") }, 201)).name }),
  },
  { route: "PUT /orgs/acme/teams/readers/members/reader", expect: "401 404 403 403 403 200 200 403" },
  {
    route: "DELETE /orgs/acme/teams/scratch/members/spare",
    expect: "401 404 403 403 403 200 200 403",
    prepare: () => admin("PUT", "/orgs/acme/teams/scratch/members/spare", undefined, 200).then(() => ({})),
  },
];

/** Calls the route as every caller; compares "status" (or "status:code" when a 4xx's code is not the status's) with the expected row. */
async function assertRow(route: string, expected: string, cellOf: (caller: Caller) => { vars: Promise<Vars>; body: unknown }): Promise<void> {
  const [method, template] = route.split(" ") as [string, string];
  const seen: string[] = [];
  const details: string[] = [];
  for (const caller of CALLERS) {
    const cell = cellOf(caller);
    const vars = await cell.vars;
    const path = template.replace(/\{(\w+)\}/g, (_, key: string) => vars[key] ?? assert.fail(`${route}: nothing for {${key}}`));
    const res = await call(method, path, auth(caller), cell.body);
    const code = res.body?.error?.code;
    seen.push(res.status >= 400 && code !== ERROR_CODE[res.status] ? `${res.status}:${code}` : String(res.status));
    details.push(`${caller}: ${method} ${path} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
  assert.equal(seen.join(" "), expected.trim().split(/\s+/).join(" "), `${route}\n${details.join("\n")}`);
}

describe("authorization: every API route × anonymous, non-member, team roles, owner, administrator, read token", () => {
  let stop: (() => Promise<void>) | undefined;

  before(async () => {
    ({ git, slipway, stop } = await startEnvironment({ slipway: { env: { SLIPWAY_PASSWORD_COST: "12" } } }));
    for (const user of ["stranger", "reader", "writer", "keeper", "owner", "spare"]) await admin("POST", "/users", { username: user, password: password(user) }, 201);
    await as("orgOwner", "POST", "/orgs", { name: "acme" }, 201);
    for (const [team, member] of [...TEAMS, ["scratch"]]) {
      await as("orgOwner", "POST", "/orgs/acme/teams", { name: team }, 201);
      if (member) await as("orgOwner", "PUT", `/orgs/acme/teams/${team}/members/${member}`, undefined, 200);
    }
    await git.createRepo("acme/app");
    await git.commitAndPush("acme/app", { "README.md": "no Dockerfile: builds fail at once\n" }, { message: "first" });
    repos.pub = await fixture("pub");
    repos.priv = await fixture("priv");
    // Private, and only the team admins' team may see it.
    await as("orgOwner", "POST", "/repositories", { namespace: "acme", name: "hidden", private: true }, 201);
    await as("orgOwner", "PUT", "/orgs/acme/teams/keepers/repositories/hidden", { role: "admin" }, 200);
    readToken = (await as("teamAdmin", "POST", "/tokens", { name: "read only", scope: "read" }, 201)).token;
  });
  after(() => stop?.());

  for (const row of REPO_ROWS) {
    for (const which of ["pub", "priv"] as const) {
      it(`${row.route} on the ${which === "pub" ? "public" : "private"} repository`, () =>
        assertRow(row.route, NEEDS[row.needs][which].replaceAll("ok", String(row.ok)), (caller) => {
          const repo = repos[which];
          const cell = { caller, repo };
          const own = { repo: `acme/${repo.name}`, name: repo.name, build: repo.build, rule: repo.rule, webhook: repo.webhook, delivery: repo.delivery, key: "KEPT" };
          return { vars: (row.prepare?.(cell) ?? Promise.resolve({})).then((vars) => ({ ...own, ...vars })), body: row.body?.(cell) };
        }));
    }
  }

  for (const row of GLOBAL_ROWS) {
    it(row.route, () => assertRow(row.route, row.expect, (caller) => ({ vars: row.prepare?.(caller) ?? Promise.resolve({}), body: row.body?.(caller) })));
  }

  it("registry actions: what the token service grants each caller for a pull and a push", async () => {
    // Pushes by hand allowed here (both repositories build automatically): the roles alone decide.
    for (const name of ["pub", "priv"]) await admin("PATCH", `/repositories/acme/${name}`, { manualPush: true }, 200);
    const adminToken = (await admin("POST", "/tokens", { name: "docker", scope: "admin" }, 201)).token;
    /** docker's credentials: Basic with a password, or with a personal access token. */
    const dockerAuth = (caller: Caller): Record<string, string> =>
      caller === "anonymous" ? {} : caller === "administrator" ? basic("admin", adminToken) : caller === "readToken" ? basic("keeper", readToken) : basic(USER_OF[caller], password(USER_OF[caller]));
    const granted = async (caller: Caller, scope: string): Promise<string> => {
      const res = await fetch(`${slipway.url}/v2/token?service=slipway-registry&scope=${encodeURIComponent(scope)}`, { headers: dockerAuth(caller) });
      const body = (await res.json()) as { token?: string; details?: string };
      if (res.status !== 200) return String(res.status);
      const claims = JSON.parse(Buffer.from(body.token!.split(".")[1]!, "base64url").toString("utf8")) as { access: Array<{ actions: string[] }> };
      return claims.access.map((a) => a.actions.sort().join(",")).join(" ") || "-";
    };
    // Columns as above. "-": a token granting nothing (docker then says "pull access denied"); 401/403: refused with a reason docker prints.
    const expected = {
      "pub pull": "pull pull pull pull pull pull pull pull",
      "priv pull": "- - pull pull pull pull pull pull",
      "pub pull,push": "401 403 403 pull,push pull,push pull,push pull,push 403",
      "priv pull,push": "- - 403 pull,push pull,push pull,push pull,push 403",
    };
    for (const [row, want] of Object.entries(expected)) {
      const [name, actions] = row.split(" ") as [string, string];
      const seen = [];
      for (const caller of CALLERS) seen.push(await granted(caller, `repository:acme/${name}:${actions}`));
      assert.equal(seen.join(" "), want, `registry ${row}`);
    }
    // A repository that does not exist: a push creates it only in the pusher's own namespace.
    assert.equal(await granted("teamWrite", "repository:writer/tool:pull,push"), "pull,push");
    assert.equal((await admin("GET", "/repositories/writer/tool", undefined, 200)).private, true);
    assert.equal(await granted("teamWrite", "repository:acme/new-one:pull,push"), "-");
    await admin("GET", "/repositories/acme/new-one", undefined, 404);
    // ...and under a name POST /repositories would take: the registry's grammar allows a longer one.
    const tooLong = `t${"o".repeat(255)}`;
    assert.equal(await granted("teamWrite", `repository:writer/${tooLong}:pull,push`), "-");
    await admin("GET", `/repositories/writer/${tooLong}`, undefined, 404);
    // Automated builds: pushes by hand refused again once the admin turns them off.
    await admin("PATCH", "/repositories/acme/priv", { manualPush: false }, 200);
    assert.equal(await granted("teamWrite", "repository:acme/priv:pull,push"), "403");
    // The catalog: administrators only.
    assert.equal(await granted("administrator", "registry:catalog:*"), "*");
    assert.equal(await granted("orgOwner", "registry:catalog:*"), "-");
  });

  it("lists a private repository only to those who may read it, searched or not", async () => {
    const visible: Record<Caller, string> = {
      anonymous: "pub",
      nonMember: "pub",
      teamRead: "priv pub",
      teamWrite: "priv pub",
      teamAdmin: "hidden priv pub",
      orgOwner: "hidden priv pub",
      administrator: "hidden priv pub",
      readToken: "hidden priv pub",
    };
    for (const caller of CALLERS) {
      for (const query of ["?limit=100", "?limit=100&q=i"]) {
        const res = await call("GET", `/repositories${query}`, auth(caller));
        assert.equal(res.status, 200);
        const names = res.body.repositories.filter((r: any) => ["pub", "priv", "hidden"].includes(r.name)).map((r: any) => r.name);
        assert.equal(names.sort().join(" "), query.includes("q=") ? visible[caller].replace("pub", "").trim() : visible[caller], `${caller} ${query}`);
      }
    }
  });

  it("answers 401 to a wrong password, an unknown user or token, and someone else's token; a token works as a Basic password, capped by its scope", async () => {
    for (const headers of [basic("reader", "wrong-password"), basic("nobody", "some-password"), basic("reader", readToken), { authorization: "Bearer slw_not-a-token" }]) {
      for (const path of ["/users/me", "/repositories/acme/pub"]) {
        const res = await call("GET", path, headers);
        assert.equal(res.status, 401, `${headers.authorization} ${path}`);
        assert.equal(res.body.error.code, "unauthorized");
      }
    }
    const me = await call("GET", "/users/me", basic("keeper", readToken));
    assert.equal(me.status, 200);
    assert.deepEqual([me.body.username, me.body.scope, me.body.via], ["keeper", "read", "token"]);
    const patch = await call("PATCH", "/repositories/acme/priv", basic("keeper", readToken), { description: "no" });
    assert.equal(patch.status, 403);
    assert.match(patch.body.error.message, /token's scope \(read\)/);
  });

  it("answers for a private repository, its builds and its organisation exactly as for ones that do not exist", async () => {
    const missingBuild = repos.priv.build.slice(0, -1) + (repos.priv.build.endsWith("0") ? "1" : "0");
    const probes: Array<[Caller, string, string, string, number]> = [];
    for (const caller of ["anonymous", "nonMember"] as const) {
      probes.push([caller, "/repositories/acme/{}", "priv", "nope", 404]);
      probes.push([caller, `/repositories/acme/{}/webhooks/${repos.priv.webhook}`, "priv", "nope", 404]);
      probes.push([caller, "/builds/{}", repos.priv.build, missingBuild, 404]);
    }
    probes.push(["nonMember", "/orgs/{}", "acme", "nope", 404], ["nonMember", "/orgs/{}/teams/readers", "acme", "nope", 404]);
    for (const [caller, template, hidden, missing, status] of probes) {
      const [a, b] = await Promise.all([hidden, missing].map((name) => call("GET", template.replace("{}", name), auth(caller))));
      assert.equal(a!.status, status, `${caller} ${template} ${hidden}`);
      assert.equal(b!.status, status, `${caller} ${template} ${missing}`);
      assert.deepEqual(a!.body, JSON.parse(JSON.stringify(b!.body).replaceAll(missing, hidden)), `${caller} ${template}`);
    }
  });

  it("never names a private repository to an organisation member who may not read it", async () => {
    for (const path of ["/orgs/acme/teams", "/orgs/acme/teams/keepers"]) {
      const res = await call("GET", path, auth("teamRead"));
      assert.equal(res.status, 200);
      assert.ok(!JSON.stringify(res.body).includes('"acme/hidden"'), `${path} names acme/hidden to a reader`);
    }
  });

  // Last: it spends this address's searches.
  it("takes 60 searches a minute from one address, then answers 429 as Docker Hub does", async () => {
    const search = () => fetch(`${slipway.url}/v1/search?q=acme`);
    const first = await search();
    assert.equal(first.status, 200);
    const names: string[] = ((await first.json()) as any).results.map((r: any) => r.name);
    assert.ok(names.includes("acme/pub") && !names.includes("acme/priv") && !names.includes("acme/hidden"), names.join(" "));
    const statuses = await Promise.all(Array.from({ length: 60 }, async () => (await search()).status));
    assert.deepEqual(statuses.filter((s) => s === 429).length, 1, "the 61st search of the minute");
    const refused = await search();
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    const body = (await refused.json()) as any;
    assert.equal(body.errors[0].code, "TOOMANYREQUESTS");
    assert.match(body.details, /60 searches a minute/);
  });
});
