import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startGitServer, type GitServer } from "../git-server.js";
import { requireEnv, startSlipway, waitFor, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
const registry = requireEnv("SLIPWAY_REGISTRY");

const dockerfile = (...lines: string[]) => [`FROM ${baseImage}`, ...lines].join("\n") + "\n";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  raw: string;
  body: any;
}

/**
 * A webhook receiver on 127.0.0.1: records every request; `/flaky/…` answers 500 twice, then
 * 200; `/down/…` always 503; anything else answers 200 "ok".
 */
async function startReceiver(): Promise<{ url: string; port: number; received: Received[]; on(path: string): Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const path = req.url ?? "";
      received.push({ path, headers: req.headers, raw, body: raw ? JSON.parse(raw) : undefined });
      const n = (calls.get(path) ?? 0) + 1;
      calls.set(path, n);
      if (path.startsWith("/flaky/") && n <= 2) res.writeHead(500, { "content-type": "text/plain" }).end(`not yet (${n})`);
      else if (path.startsWith("/down/")) res.writeHead(503, { "content-type": "text/plain" }).end("down");
      else res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    on: (path) => received.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const sign = (secret: string, raw: string) => `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;

describe("outgoing webhooks", () => {
  let git: GitServer;
  let gitRoot: string;
  let slipway: Slipway;
  /** A second Slipway whose operator does not allow private targets. */
  let strict: Slipway | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secrets: string[] = [];

  before(async () => {
    const tmp = process.env["SLIPWAY_TEST_TMP"] ?? tmpdir();
    mkdirSync(tmp, { recursive: true });
    gitRoot = mkdtempSync(join(tmp, "git-"));
    git = await startGitServer({ root: gitRoot });
    receiver = await startReceiver();
    slipway = await startSlipway({ env: { SLIPWAY_WEBHOOK_ALLOW_PRIVATE: "true", SLIPWAY_WEBHOOK_BACKOFF_MS: "200" } });
  });

  after(async () => {
    await Promise.all([slipway?.stop(), strict?.stop()]);
    // No secret in any process's output (logs), whatever happened.
    for (const output of [slipway?.output() ?? "", strict?.output() ?? ""]) {
      for (const secret of secrets) assert.equal(output.includes(secret), false, "a webhook secret appears in the processes' output");
    }
    await receiver?.close();
    await git?.close();
    rmSync(gitRoot, { recursive: true, force: true });
  });

  /** A forge repository with this Dockerfile, linked to a new repository of `on`. */
  async function link(on: Slipway, files: Record<string, string>): Promise<string> {
    const name = `hooked-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`acme/${name}`);
    await git.commitAndPush(`acme/${name}`, files, { message: "first commit" });
    assert.equal((await on.api("POST", "/repositories", { namespace: "acme", name, description: "webhook test" })).status, 201);
    const linked = await on.api("PUT", `/repositories/acme/${name}/source`, { provider: "github", repository: `acme/${name}`, cloneUrl: git.url(`acme/${name}`) });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return name;
  }

  async function addWebhook(on: Slipway, name: string, body: Record<string, unknown>): Promise<any> {
    const created = await on.api("POST", `/repositories/acme/${name}/webhooks`, body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  }

  /** Builds main by hand and waits for the build to end. */
  async function build(on: Slipway, name: string): Promise<any> {
    const started = await on.api("POST", `/repositories/acme/${name}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return on.waitForBuild(started.body.builds[0].id);
  }

  async function deliveries(on: Slipway, name: string, hookId: string): Promise<any[]> {
    const list = await on.api("GET", `/repositories/acme/${name}/webhooks/${hookId}/deliveries`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    return list.body.deliveries;
  }

  const settled = (on: Slipway, name: string, hookId: string, count: number) =>
    waitFor(`${count} settled deliveries of webhook ${hookId}`, async () => {
      const list = await deliveries(on, name, hookId);
      return list.length === count && list.every((d) => d.status !== "pending") ? list : undefined;
    }, 30_000, 100);

  it("sends Docker Hub's payload for each pushed tag, signed where the webhook has a secret", async () => {
    const name = await link(slipway, { Dockerfile: dockerfile("RUN true") });
    const [rule] = (await slipway.api("GET", `/repositories/acme/${name}/rules`)).body.rules;
    assert.equal((await slipway.api("PATCH", `/repositories/acme/${name}/rules/${rule.id}`, { dockerTag: "latest,v1" })).status, 200);

    const secret = `whsec-${randomBytes(12).toString("hex")}`;
    secrets.push(secret);
    const signed = await addWebhook(slipway, name, { name: "ci", url: `${receiver.url}/signed/${name}`, secret });
    assert.deepEqual(Object.keys(signed).sort(), ["createdAt", "hasSecret", "id", "name", "url"]);
    assert.deepEqual([signed.name, signed.url, signed.hasSecret], ["ci", `${receiver.url}/signed/${name}`, true]);
    const unsigned = await addWebhook(slipway, name, { name: "chat", url: `${receiver.url}/unsigned/${name}` });
    assert.equal(unsigned.hasSecret, false);
    const listed = await slipway.api("GET", `/repositories/acme/${name}/webhooks`);
    assert.deepEqual(listed.body.webhooks.map((w: any) => [w.id, w.hasSecret]), [[signed.id, true], [unsigned.id, false]]);
    assert.equal(JSON.stringify(listed.body).includes(secret), false);

    const built = await build(slipway, name);
    assert.equal(built.status, "success", JSON.stringify(built.error));
    assert.deepEqual(built.tags, ["latest", "v1"]);

    const got = await waitFor("four deliveries", () => {
      const all = [...receiver.on(`/signed/${name}`), ...receiver.on(`/unsigned/${name}`)];
      return all.length === 4 ? all : undefined;
    }, 30_000);
    for (const r of got) {
      assert.equal(r.headers["x-slipway-event"], "push");
      assert.match(r.headers["user-agent"] ?? "", /^Slipway-Hookshot\//);
      assert.equal(r.headers["content-type"], "application/json");
      assert.match(String(r.headers["x-slipway-delivery"]), /^[0-9a-f-]{36}$/);
      if (r.path.startsWith("/signed/")) {
        assert.equal(r.headers["x-slipway-signature-256"], sign(secret, r.raw));
        assert.equal(r.headers["x-slipway-hook-id"], signed.id);
      } else {
        assert.equal(r.headers["x-slipway-signature-256"], undefined);
      }
      const { callback_url, push_data, repository } = r.body;
      assert.equal(callback_url, `${slipway.url}/api/v1/builds/${built.id}`);
      assert.deepEqual(Object.keys(push_data).sort(), ["images", "pushed_at", "pusher", "tag"]);
      assert.equal(push_data.pushed_at, Math.floor(Date.parse(built.finishedAt) / 1000));
      assert.equal(push_data.pusher, "slipway");
      assert.deepEqual(push_data.images, [`${registry}/acme/${name}@${built.digest}`]);
      assert.equal(typeof repository.date_created, "number");
      const { date_created: _date, ...rest } = repository;
      assert.deepEqual(rest, {
        comment_count: 0,
        description: "webhook test",
        dockerfile: null,
        full_description: null,
        is_official: false,
        is_private: false,
        is_trusted: true,
        name,
        namespace: "acme",
        owner: "acme",
        repo_name: `acme/${name}`,
        repo_url: `${slipway.url}/#/r/acme/${name}`,
        star_count: 0,
        status: "Active",
      });
      assert.equal(r.body.build.id, built.id);
      assert.equal(r.body.build.digest, built.digest);
    }
    for (const path of [`/signed/${name}`, `/unsigned/${name}`]) {
      assert.deepEqual(receiver.on(path).map((r) => r.body.push_data.tag).sort(), ["latest", "v1"]);
    }

    const list = await settled(slipway, name, signed.id, 2);
    assert.deepEqual(list.map((d) => [d.event, d.status, d.buildId]), [["push", "delivered", built.id], ["push", "delivered", built.id]]);
    assert.deepEqual(list.map((d) => d.tag).sort(), ["latest", "v1"]);
    const ids = receiver.on(`/signed/${name}`).map((r) => r.headers["x-slipway-delivery"]);
    assert.deepEqual(list.map((d) => d.id).sort(), [...ids].sort());
    for (const d of list) {
      assert.equal(d.attempts.length, 1);
      const [a] = d.attempts;
      assert.deepEqual([a.attempt, a.statusCode, a.error, a.response], [1, 200, null, "ok"]);
      assert.equal(typeof a.durationMs, "number");
      assert.ok(Date.parse(a.at) >= Date.parse(d.createdAt));
    }
    const one = await slipway.api("GET", `/repositories/acme/${name}/webhooks/${signed.id}/deliveries/${list[0].id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.payload, receiver.on(`/signed/${name}`).find((r) => r.headers["x-slipway-delivery"] === list[0].id)?.body);
  });

  it("tells of a failed build with build_failed, and of a canceled one with build_canceled", async () => {
    const failing = await link(slipway, { Dockerfile: dockerfile("RUN exit 3") });
    const hook = await addWebhook(slipway, failing, { name: "ci", url: `${receiver.url}/failed/${failing}` });
    const failed = await build(slipway, failing);
    assert.equal(failed.status, "failed");
    const [r] = await waitFor("the failure event", () => (receiver.on(`/failed/${failing}`).length === 1 ? receiver.on(`/failed/${failing}`) : undefined), 30_000);
    assert.equal(r!.headers["x-slipway-event"], "build_failed");
    assert.equal(r!.body.event, "build_failed");
    assert.equal("push_data" in r!.body, false);
    assert.equal(r!.body.build.id, failed.id);
    assert.equal(r!.body.build.status, "failed");
    assert.equal(r!.body.build.error.code, "dockerfile_error");
    assert.equal(r!.body.repository.repo_name, `acme/${failing}`);
    const [d] = await settled(slipway, failing, hook.id, 1);
    assert.deepEqual([d.event, d.tag, d.status], ["build_failed", null, "delivered"]);

    // Canceled through the API while it builds: the API announces the end.
    const slow = await link(slipway, { Dockerfile: dockerfile("RUN sleep 60") });
    await addWebhook(slipway, slow, { name: "ci", url: `${receiver.url}/canceled/${slow}` });
    const started = await slipway.api("POST", `/repositories/acme/${slow}/builds`, { sourceType: "branch", sourceName: "main" });
    const id = started.body.builds[0].id;
    await slipway.waitForStatus(id, "building");
    assert.equal((await slipway.api("POST", `/builds/${id}/cancel`)).status, 202);
    const [c] = await waitFor("the cancel event", () => (receiver.on(`/canceled/${slow}`).length > 0 ? receiver.on(`/canceled/${slow}`) : undefined), 30_000);
    assert.equal(c!.headers["x-slipway-event"], "build_canceled");
    assert.equal(c!.body.build.status, "canceled");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(receiver.on(`/canceled/${slow}`).length, 1, "the end is told once");
  });

  it("retries a failing receiver with backoff, records every attempt, and redelivers on request", async () => {
    const name = await link(slipway, { Dockerfile: dockerfile("RUN true") });
    const path = `/flaky/${name}`;
    const hook = await addWebhook(slipway, name, { name: "flaky", url: `${receiver.url}${path}` });
    const down = await addWebhook(slipway, name, { name: "down", url: `${receiver.url}/down/${name}` });
    const built = await build(slipway, name);
    assert.equal(built.status, "success", JSON.stringify(built.error));

    // A delivery still being tried (pending, waiting out its backoff) is not redelivered: both series would send.
    const [retrying] = await waitFor("a delivery waiting to be tried again", async () => {
      const list = await deliveries(slipway, name, down.id);
      return list.length === 1 && list[0].status === "pending" && list[0].attempts.length >= 1 ? list : undefined;
    }, 30_000, 50);
    const early = await slipway.api("POST", `/repositories/acme/${name}/webhooks/${down.id}/deliveries/${retrying.id}/redeliver`);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(early.body.error.code, "conflict");
    assert.match(early.body.error.message, /still being delivered; wait for it to be delivered or fail/);
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${name}/webhooks/${down.id}`)).status, 204);

    const [d] = await settled(slipway, name, hook.id, 1);
    assert.equal(d.status, "delivered");
    assert.deepEqual(d.attempts.map((a: any) => [a.attempt, a.statusCode, a.response]), [
      [1, 500, "not yet (1)"],
      [2, 500, "not yet (2)"],
      [3, 200, "ok"],
    ]);
    const times = d.attempts.map((a: any) => Date.parse(a.at));
    // SLIPWAY_WEBHOOK_BACKOFF_MS=200: waits of 200 and 400 ms.
    assert.ok(times[1] - times[0] >= 150 && times[2] - times[1] >= 350, JSON.stringify(d.attempts.map((a: any) => a.at)));

    const again = await slipway.api("POST", `/repositories/acme/${name}/webhooks/${hook.id}/deliveries/${d.id}/redeliver`);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.status, "pending");
    const [redelivered] = await settled(slipway, name, hook.id, 1);
    assert.equal(redelivered.status, "delivered");
    assert.deepEqual(redelivered.attempts.map((a: any) => [a.attempt, a.statusCode]), [[1, 500], [2, 500], [3, 200], [4, 200]]);
    const sent = receiver.on(path);
    assert.equal(sent.length, 4);
    assert.equal(new Set(sent.map((r) => r.raw)).size, 1, "the same payload every time");
    assert.equal(new Set(sent.map((r) => r.headers["x-slipway-delivery"])).size, 1);

    // What is not there, or not this repository's, is not found.
    const other = await link(slipway, { Dockerfile: dockerfile("RUN true") });
    const notFound: [string, string][] = [
      ["GET", `/repositories/acme/${name}/webhooks/0193a000-0000-7000-8000-00000000dead/deliveries`],
      ["GET", `/repositories/acme/${other}/webhooks/${hook.id}/deliveries`],
      ["POST", `/repositories/acme/${name}/webhooks/${hook.id}/deliveries/0193a000-0000-7000-8000-00000000dead/redeliver`],
      ["POST", `/repositories/acme/${other}/webhooks/${hook.id}/deliveries/${d.id}/redeliver`],
      ["DELETE", `/repositories/acme/${other}/webhooks/${hook.id}`],
      ["GET", `/repositories/acme/nope-${name}/webhooks`],
    ];
    for (const [method, url] of notFound) {
      const answer = await slipway.api(method, url);
      assert.equal(answer.status, 404, `${method} ${url}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, "not_found");
    }
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${name}/webhooks/${hook.id}`)).status, 204);
    assert.equal((await slipway.api("GET", `/repositories/acme/${name}/webhooks/${hook.id}/deliveries`)).status, 404);
    assert.deepEqual((await slipway.api("GET", `/repositories/acme/${name}/webhooks`)).body.webhooks, []);
  });

  it("refuses private, loopback, link-local and metadata targets unless the operator allows private ones", async () => {
    const hard = await startSlipway({ env: { SLIPWAY_WEBHOOK_BACKOFF_MS: "200" } });
    strict = hard;
    const name = await link(hard, { Dockerfile: dockerfile("RUN true") });
    const refused: [Slipway, string, RegExp][] = [
      [hard, `${receiver.url}/direct`, /127\.0\.0\.1 is a loopback address.*SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true/],
      [hard, `http://[::1]:${receiver.port}/`, /::1 is a loopback address/],
      [hard, "http://169.254.10.10/", /link-local/],
      [hard, "http://10.1.2.3/", /10\.1\.2\.3 is a private address.*SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true/],
      [hard, "http://[fd00::7]/", /private address/],
      [hard, "http://[64:ff9b::a9fe:a9fe]/", /cloud metadata/],
      [hard, "http://169.254.169.254/latest/meta-data/", /cloud metadata/],
      [hard, "http://metadata.google.internal/", /cloud metadata/],
      [hard, "ftp://example.com/", /http or https/],
      [hard, "https://user:pw@example.com/", /credentials/],
      // Allowing private targets never allows the metadata services.
      [slipway, "http://169.254.169.254/latest/meta-data/", /cloud metadata/],
    ];
    const own = await link(slipway, { Dockerfile: dockerfile("RUN true") });
    for (const [on, url, message] of refused) {
      const answer = await on.api("POST", `/repositories/acme/${on === hard ? name : own}/webhooks`, { name: "bad", url });
      assert.equal(answer.status, 422, `${url}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, "validation_failed");
      assert.match(answer.body.error.message, message);
    }
    // The API honours the operator's setting as the worker does.
    const privateHook = await addWebhook(slipway, own, { name: "lan", url: "http://10.1.2.3/hook" });
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${own}/webhooks/${privateHook.id}`)).status, 204);

    // A name is resolved when sending: localhost is refused then, and never contacted.
    const secret = `whsec-${randomBytes(12).toString("hex")}`;
    secrets.push(secret);
    const hook = await addWebhook(hard, name, { name: "local", url: `http://localhost:${receiver.port}/by-name/${name}`, secret });
    const built = await build(hard, name);
    assert.equal(built.status, "success", JSON.stringify(built.error));
    const [d] = await settled(hard, name, hook.id, 1);
    assert.equal(d.status, "failed");
    assert.equal(d.attempts.length, 1, "a refused target is not tried again");
    assert.equal(d.attempts[0].statusCode, null);
    assert.match(d.attempts[0].error, /^refused: localhost resolves to (127\.0\.0\.1|::1), and .* is a loopback address/);
    assert.equal(receiver.on(`/by-name/${name}`).length, 0);
    assert.equal(JSON.stringify(d).includes(secret), false);
  });
});
