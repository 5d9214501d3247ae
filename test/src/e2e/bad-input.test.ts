import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { request } from "node:http";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { githubPushPayload } from "../support/github.js";
import { startSlipway, type Slipway } from "../support/slipway.js";

interface Delivery {
  headers: Record<string, string>;
  body: Buffer;
}

/** Raw POST: the body goes as bytes, whatever they are. */
function post(url: string, delivery: Delivery): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { ...delivery.headers, "content-length": String(delivery.body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    // The server may answer and close before a refused body is all sent.
    req.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err)));
    req.end(delivery.body);
  });
}

describe("bad deliveries: a clear error, no build, the process stays up", () => {
  let slipway: Slipway;
  let hookUrl: string;
  let secret: string;
  const forgeName = "acme/bad-input";
  const commit = "a".repeat(40);

  before(async () => {
    slipway = await startSlipway({ worker: false });
    await slipway.api("POST", "/repositories", { namespace: "acme", name: "bad-input" });
    const linked = await slipway.api("PUT", "/repositories/acme/bad-input/source", {
      provider: "github",
      repository: forgeName,
      cloneUrl: "http://127.0.0.1:9/acme/bad-input.git",
    });
    hookUrl = linked.body.webhookUrl;
    secret = linked.body.secret;
  });
  after(() => slipway?.stop());

  const sha256 = (key: string, body: Buffer) => `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  function github(body: Buffer | string, overrides: Record<string, string | null> = {}): Delivery {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": sha256(secret, bytes),
    };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === null) delete headers[name];
      else headers[name] = value;
    }
    return { headers, body: bytes };
  }
  const payload = (changes: Record<string, unknown> = {}) =>
    JSON.stringify({ ...githubPushPayload({ repository: forgeName, ref: "refs/heads/main", after: commit, cloneUrl: "http://x/y.git" }), ...changes });

  const cases: [string, () => Delivery, number, string][] = [
    ["not JSON", () => github("this is not json"), 400, "invalid_json"],
    ["truncated JSON", () => github(payload().slice(0, 200)), 400, "invalid_json"],
    ["no ref", () => github(payload({ ref: undefined })), 400, "bad_request"],
    ["a ref outside refs/heads and refs/tags", () => github(payload({ ref: "refs/pull/1/head" })), 400, "bad_request"],
    ["a commit that is not 40 hex", () => github(payload({ after: "not-a-commit" })), 400, "bad_request"],
    ["no event header", () => github(payload(), { "x-github-event": null }), 400, "missing_event"],
    ["a bad signature", () => github(payload(), { "x-hub-signature-256": sha256("wrong", Buffer.from(payload())) }), 401, "invalid_signature"],
    ["a missing signature", () => github(payload(), { "x-hub-signature-256": null }), 401, "invalid_signature"],
    ["an empty signature", () => github(payload(), { "x-hub-signature-256": "" }), 401, "invalid_signature"],
    [
      "the right secret with the wrong algorithm",
      () => github(payload(), { "x-hub-signature-256": `sha256=${createHmac("sha512", secret).update(payload()).digest("hex")}` }),
      401,
      "invalid_signature",
    ],
    ["a wrong content type", () => github(payload(), { "content-type": "text/plain" }), 415, "unsupported_media_type"],
    ["non-UTF-8 bytes", () => github(Buffer.concat([Buffer.from('{"ref": "refs/heads/'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), 400, "bad_request"],
    ["JSON nested thousands deep", () => github("[".repeat(100_000) + "]".repeat(100_000)), 400, "invalid_json"],
    ["a body over 25 MB", () => github(Buffer.alloc(26 * 1024 * 1024, 0x20)), 413, "payload_too_large"],
    ["a body that is not what its Content-Encoding says", () => github(payload(), { "content-encoding": "gzip" }), 400, "bad_request"],
    ["a Content-Encoding nobody inflates", () => github(payload(), { "content-encoding": "compress" }), 415, "unsupported_media_type"],
    ["a gzip body over 25 MB once inflated", () => github(gzipSync(Buffer.alloc(26 * 1024 * 1024, 0x20)), { "content-encoding": "gzip" }), 413, "payload_too_large"],
  ];

  for (const [what, make, status, code] of cases) {
    it(`${what}: ${status} ${code}`, async () => {
      const answer = await post(hookUrl, make());
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, code);
      assert.ok(answer.body.error.message.length > 0);
      assert.ok(answer.body.delivery, "the answer names the delivery it recorded");
    });
  }

  it("an unknown event: 200, ignored", async () => {
    const answer = await post(hookUrl, github(JSON.stringify({ action: "opened", repository: { full_name: forgeName } }), { "x-github-event": "issues" }));
    assert.equal(answer.status, 200);
    assert.match(answer.body.ignored, /issues/);
  });

  it("a gzip-compressed delivery: inflated, checked against the signature of what it carries, queued", async () => {
    const name = `gzipped-${randomBytes(4).toString("hex")}`;
    await slipway.api("POST", "/repositories", { namespace: "acme", name });
    const linked = await slipway.api("PUT", `/repositories/acme/${name}/source`, {
      provider: "github",
      repository: `acme/${name}`,
      cloneUrl: `http://127.0.0.1:9/acme/${name}.git`,
    });
    const json = Buffer.from(JSON.stringify(githubPushPayload({ repository: `acme/${name}`, ref: "refs/heads/main", after: commit, cloneUrl: "http://x/y.git" })));
    const delivery = {
      headers: { "content-type": "application/json", "content-encoding": "gzip", "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": sha256(linked.body.secret, json) },
      body: gzipSync(json),
    };
    const answer = await post(linked.body.webhookUrl, delivery);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.builds.map((b: any) => [b.sourceName, b.commit]), [["main", commit]]);
    const recorded = await slipway.api("GET", `/deliveries?source=${linked.body.id}`);
    assert.deepEqual(recorded.body.deliveries.map((d: any) => [d.id, d.outcome]), [[answer.body.delivery, "queued"]]);
  });

  it("a repository that is not linked: 404 at POST /hooks", async () => {
    const body = JSON.stringify({ ...JSON.parse(payload()), repository: { full_name: `acme/${randomBytes(4).toString("hex")}` } });
    const answer = await post(`${slipway.url}/hooks`, github(body));
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error.code, "not_found");
  });

  it("a payload naming another repository than the source's: 400", async () => {
    const body = JSON.stringify({ ...JSON.parse(payload()), repository: { full_name: "someone/else" } });
    const answer = await post(hookUrl, github(body));
    assert.equal(answer.status, 400);
    assert.match(answer.body.error.message, /someone\/else/);
  });

  it("after all of it: no build, every delivery recorded, the process up", async () => {
    const builds = await slipway.api("GET", "/repositories/acme/bad-input/builds");
    assert.deepEqual(builds.body.builds, []);
    const deliveries = await slipway.api("GET", `/deliveries?limit=100`);
    const outcomes = deliveries.body.deliveries.map((d: any) => d.outcome);
    assert.equal(outcomes.filter((o: string) => o === "rejected").length, cases.length + 2);
    assert.equal((await fetch(`${slipway.url}/healthz`)).status, 200);
  });
});
