import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { loadRegistryTokenKey } from "@slipway/config";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { startHubRegistry, type HubRegistry } from "../support/hub-registry.js";
import { freePort, requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const run = promisify(execFile);
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
const dockerHost = requireEnv("DOCKER_HOST");
const tmp = requireEnv("SLIPWAY_TEST_TMP");

const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-22", carol: "carol-password-333" } as const;
type User = keyof typeof PASSWORDS;

/**
 * The real docker CLI against the test engine, as one person: each has a config folder of their own,
 * so `docker login` keeps each one's credentials apart. Answers what docker printed, and whether it succeeded.
 */
function dockerAs(who: User | "anonymous") {
  const config = mkdtempSync(join(tmp, `docker-config-${who}-`));
  return async (args: string[], stdin?: string): Promise<{ ok: boolean; output: string }> => {
    const child = run("docker", args, { env: { ...process.env, DOCKER_HOST: dockerHost, DOCKER_CONFIG: config }, timeout: 60_000 });
    if (stdin !== undefined) {
      child.child.stdin?.end(stdin);
    }
    try {
      const { stdout, stderr } = await child;
      return { ok: true, output: stdout + stderr };
    } catch (err) {
      const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
      return { ok: false, output: stdout + stderr };
    }
  };
}

describe("the docker CLI against Slipway: login, push, pull and search obey accounts, roles and privacy", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;
  let hub: HubRegistry | undefined;
  let registry: string;
  let searchHost: string;
  const docker = { alice: dockerAs("alice"), bob: dockerAs("bob"), carol: dockerAs("carol"), anonymous: dockerAs("anonymous") };
  let bobToken: string;
  /** What the webhook of acme/app received. */
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let receiver: Server | undefined;

  before(async () => {
    const port = await freePort();
    registry = `127.0.0.1:${port}`;
    ({ git, slipway, stop } = await startEnvironment({
      slipway: { env: { SLIPWAY_REGISTRY: registry, SLIPWAY_PASSWORD_COST: "12", SLIPWAY_WEBHOOK_ALLOW_PRIVATE: "true" } },
    }));
    searchHost = new URL(slipway.url).host;
    const key = loadRegistryTokenKey(slipway.dataDir);
    // Configured as npm start configures its registry: Slipway's tokens, and push events to Slipway.
    hub = await startHubRegistry({
      certificatePath: key.certificatePath,
      realm: `${slipway.url}/v2/token`,
      eventsUrl: `${slipway.url}/registry/events`,
      eventsSecret: readFileSync(join(slipway.dataDir, "registry-events-secret"), "utf8").trim(),
      port,
    });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(200).end();
      });
    });
    const receiverPort = await freePort();
    await new Promise<void>((resolve) => receiver!.listen(receiverPort, "127.0.0.1", resolve));

    for (const username of ["alice", "bob", "carol"] as const) {
      const created = await slipway.api("POST", "/users", { username, password: PASSWORDS[username] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    // alice owns acme; bob's team may read acme/app; carol is in nothing.
    const asAlice = (method: string, path: string, body?: unknown) =>
      fetch(`${slipway.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString("base64")}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    assert.equal((await asAlice("POST", "/orgs", { name: "acme" })).status, 201);
    assert.equal((await asAlice("POST", "/repositories", { namespace: "acme", name: "app", private: true, description: "the private app" })).status, 201);
    assert.equal((await asAlice("POST", "/repositories", { namespace: "acme", name: "site", private: false, description: "the public site" })).status, 201);
    assert.equal((await asAlice("POST", "/repositories", { namespace: "acme", name: "auto", private: true })).status, 201);
    const webhook = await asAlice("POST", "/repositories/acme/app/webhooks", { name: "deploy", url: `http://127.0.0.1:${(receiver!.address() as { port: number }).port}/hook`, secret: "hook-secret" });
    assert.equal(webhook.status, 201);
    await git.createRepo("acme/auto");
    const linked = await asAlice("PUT", "/repositories/acme/auto/source", { provider: "github", repository: "acme/auto", cloneUrl: git.url("acme/auto") });
    assert.equal(linked.status, 201);
    assert.equal((await asAlice("POST", "/orgs/acme/teams", { name: "readers" })).status, 201);
    assert.equal((await asAlice("PUT", "/orgs/acme/teams/readers/members/bob")).status, 200);
    assert.equal((await asAlice("PUT", "/orgs/acme/teams/readers/repositories/app", { role: "read" })).status, 200);
    // bob signs in to the registry with a personal access token, as CI would.
    const token = await fetch(`${slipway.url}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`bob:${PASSWORDS.bob}`).toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "laptop", scope: "write" }),
    });
    assert.equal(token.status, 201);
    bobToken = ((await token.json()) as { token: string }).token;

    // The image everyone pushes: the test base image under the hub registry's names.
    for (const name of ["acme/app:v1", "acme/auto:v1", "alice/fresh:v1", "acme/app:by-bob"]) {
      const tagged = await docker.alice(["tag", baseImage, `${registry}/${name}`]);
      assert.ok(tagged.ok, tagged.output);
    }
  });

  after(async () => {
    await stop?.();
    await hub?.close();
    await new Promise((resolve) => (receiver === undefined ? resolve(undefined) : receiver.close(resolve)));
  });

  it("logs in with a password or a token, and refuses a wrong one", async () => {
    const wrong = await docker.carol(["login", registry, "-u", "carol", "--password-stdin"], "not-her-password");
    assert.equal(wrong.ok, false);
    assert.match(wrong.output, /unauthorized: incorrect username or password/);
    for (const [who, secret] of [["alice", PASSWORDS.alice], ["carol", PASSWORDS.carol], ["bob", bobToken]] as const) {
      const login = await docker[who](["login", registry, "-u", who, "--password-stdin"], secret);
      assert.ok(login.ok, `${who}: ${login.output}`);
      assert.match(login.output, /Login Succeeded/);
    }
  });

  it("pushes what a role allows, and says why it refuses the rest", async () => {
    const pushed = await docker.alice(["push", `${registry}/acme/app:v1`]);
    assert.ok(pushed.ok, pushed.output);
    assert.match(pushed.output, /v1: digest: sha256:[0-9a-f]{64}/);

    const bobPush = await docker.bob(["push", `${registry}/acme/app:by-bob`]);
    assert.equal(bobPush.ok, false);
    assert.match(bobPush.output, /denied: pushing to acme\/app needs the write role; you have read/);

    const automated = await docker.alice(["push", `${registry}/acme/auto:v1`]);
    assert.equal(automated.ok, false);
    assert.match(automated.output, /denied: acme\/auto builds automatically; pushes by hand are off/);

    // A push to a repository that does not exist yet creates it, private, in the pusher's namespace.
    const fresh = await docker.alice(["push", `${registry}/alice/fresh:v1`]);
    assert.ok(fresh.ok, fresh.output);
    const created = await slipway.api("GET", "/repositories/alice/fresh");
    assert.equal(created.status, 200);
    assert.equal(created.body.private, true);
  });

  it("pulls what a role allows; a private repository is invisible to everyone else", async () => {
    const ref = `${registry}/acme/app:v1`;
    for (const who of ["bob", "carol", "anonymous"] as const) {
      // Each pull starts from an engine without the image, so that the registry is asked.
      await docker.alice(["rmi", ref]);
      const pulled = await docker[who](["pull", ref]);
      if (who === "bob") {
        assert.ok(pulled.ok, pulled.output);
      } else {
        assert.equal(pulled.ok, false, `${who} pulled a private image`);
        assert.match(pulled.output, /pull access denied|denied: requested access to the resource is denied|unauthorized/);
      }
    }
  });

  it("answers docker search with what the caller may see", async () => {
    const anonymous = await docker.anonymous(["search", "--no-trunc", `${searchHost}/acme`]);
    assert.ok(anonymous.ok, anonymous.output);
    assert.match(anonymous.output, /acme\/site\s+the public site/);
    assert.doesNotMatch(anonymous.output, /acme\/app|acme\/auto/);

    const login = await docker.bob(["login", searchHost, "-u", "bob", "--password-stdin"], PASSWORDS.bob);
    assert.ok(login.ok, login.output);
    const asBob = await docker.bob(["search", "--no-trunc", `${searchHost}/acme`]);
    assert.ok(asBob.ok, asBob.output);
    assert.match(asBob.output, /acme\/app\s+the private app/);
    assert.match(asBob.output, /acme\/site/);
    assert.doesNotMatch(asBob.output, /acme\/auto/, "bob's team was given acme/app only");
  });

  it("fires the repository's webhooks for a push by hand, with Docker Hub's payload", async () => {
    await waitFor("the webhook of alice's push", () => (received.length > 0 ? true : undefined), 30_000);
    const [delivery] = received;
    const payload = JSON.parse(delivery!.body);
    assert.equal(payload.push_data.pusher, "alice");
    assert.equal(payload.push_data.tag, "v1");
    assert.match(payload.push_data.images[0], new RegExp(`^${registry.replace(/\./g, "\\.")}/acme/app@sha256:[0-9a-f]{64}$`));
    assert.equal(payload.repository.repo_name, "acme/app");
    assert.equal(payload.repository.is_private, true);
    assert.equal(payload.build, null);
    assert.equal(delivery!.headers["x-slipway-event"], "push");
    assert.equal(delivery!.headers["x-slipway-signature-256"], `sha256=${createHmac("sha256", "hook-secret").update(delivery!.body).digest("hex")}`);
    // Refused pushes and the other repositories' pushes fire nothing here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(received.length, 1);
    const [hook] = (await slipway.api("GET", "/repositories/acme/app/webhooks")).body.webhooks;
    const listed = await slipway.api("GET", `/repositories/acme/app/webhooks/${hook.id}/deliveries`);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.deliveries[0].buildId, null);
    assert.equal(typeof listed.body.deliveries[0].pushId, "string");
  });

  it("writes no password or token to any log", () => {
    const logs = slipway.output() + readFileSync(hub!.logFile, "utf8");
    for (const secret of [...Object.values(PASSWORDS), bobToken]) assert.ok(!logs.includes(secret), "a secret reached a log");
  });
});
