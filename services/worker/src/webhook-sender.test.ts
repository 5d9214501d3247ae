import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createWebhookSender, type ResolveAll } from "./webhook-sender.js";

interface Seen {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

describe("webhook sender", () => {
  let server: Server;
  let port: number;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        seen.push({ path: req.url ?? "", headers: req.headers, body });
        if (req.url === "/ok") res.end("thanks");
        else if (req.url === "/big") res.end("x".repeat(100_000));
        else if (req.url === "/redirect") res.writeHead(302, { location: "/ok" }).end();
        else if (req.url === "/slow") setTimeout(() => res.end("late"), 2_000);
        else res.writeHead(500).end("boom");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (path: string, options: Parameters<typeof createWebhookSender>[0], host = "127.0.0.1") =>
    createWebhookSender(options)({ url: `http://${host}:${port}${path}`, body: '{"a":1}', headers: { "Content-Type": "application/json", "X-Test": "yes" } });

  it("POSTs the body and headers, and records the status and answer", async () => {
    seen.length = 0;
    const result = await send("/ok", { allowPrivate: true });
    assert.deepEqual({ ...result, durationMs: 0 }, { statusCode: 200, error: null, response: "thanks", refused: false, durationMs: 0 });
    assert.ok(result.durationMs >= 0);
    assert.equal(seen[0]?.body, '{"a":1}');
    assert.equal(seen[0]?.headers["x-test"], "yes");
    assert.equal(seen[0]?.headers["content-length"], "7");
  });

  it("keeps only the start of a long answer", async () => {
    const result = await send("/big", { allowPrivate: true, maxResponseBytes: 4096 });
    assert.equal(result.statusCode, 200);
    assert.equal(result.response, `${"x".repeat(4096)}…[truncated]`);
  });

  it("does not follow redirects", async () => {
    seen.length = 0;
    const result = await send("/redirect", { allowPrivate: true });
    assert.equal(result.statusCode, 302);
    assert.deepEqual(seen.map((s) => s.path), ["/redirect"]);
  });

  it("records a 5xx as an answer, not an error", async () => {
    const result = await send("/fail", { allowPrivate: true });
    assert.deepEqual([result.statusCode, result.response, result.error], [500, "boom", null]);
  });

  it("gives up on a receiver slower than the timeout", async () => {
    const result = await send("/slow", { allowPrivate: true, timeoutMs: 200 });
    assert.equal(result.statusCode, null);
    assert.equal(result.error, "timed out after 0.2 s");
    assert.equal(result.refused, false);
    assert.ok(result.durationMs < 1_500, String(result.durationMs));
  });

  it("records a refused connection as an error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await createWebhookSender({ allowPrivate: true })({ url: `http://127.0.0.1:${closedPort}/`, body: "{}", headers: {} });
    assert.equal(result.statusCode, null);
    assert.match(result.error ?? "", /ECONNREFUSED/);
    assert.equal(result.refused, false);
  });

  it("refuses a loopback literal unless the operator allows private targets, without connecting", async () => {
    seen.length = 0;
    const result = await send("/ok", { allowPrivate: false });
    assert.equal(result.refused, true);
    assert.match(result.error ?? "", /^refused: 127\.0\.0\.1 is a loopback address/);
    assert.equal(seen.length, 0);
  });

  it("refuses a name that resolves to loopback (localhost), checked at connect time", async () => {
    seen.length = 0;
    const result = await send("/ok", { allowPrivate: false }, "localhost");
    assert.equal(result.refused, true);
    assert.match(result.error ?? "", /^refused: localhost resolves to (127\.0\.0\.1|::1), and \1 is a loopback address/);
    assert.equal(seen.length, 0);
  });

  it("checks every address a name resolves to, and connects to the one it checked", async () => {
    const resolveTo =
      (...addresses: string[]): ResolveAll =>
      async () =>
        addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    seen.length = 0;
    const mixed = await send("/ok", { allowPrivate: false, resolve: resolveTo("93.184.215.14", "127.0.0.1") }, "hooks.example.test");
    assert.equal(mixed.refused, true);
    assert.match(mixed.error ?? "", /hooks\.example\.test resolves to 127\.0\.0\.1/);
    const metadata = await send("/ok", { allowPrivate: true, resolve: resolveTo("169.254.169.254") }, "hooks.example.test");
    assert.match(metadata.error ?? "", /cloud metadata/);
    const nat64 = await send("/ok", { allowPrivate: true, resolve: resolveTo("64:ff9b::a9fe:a9fe") }, "hooks.example.test");
    assert.match(nat64.error ?? "", /64:ff9b::a9fe:a9fe, and .* is a cloud metadata address/);
    const lan = await send("/ok", { allowPrivate: false, resolve: resolveTo("10.0.0.7") }, "hooks.example.test");
    assert.equal(lan.refused, true);
    assert.match(lan.error ?? "", /resolves to 10\.0\.0\.7, and 10\.0\.0\.7 is a private address/);
    assert.equal(seen.length, 0);

    // Allowed, a made-up name reaches the address the lookup gave: the one that was checked.
    const allowed = await send("/ok", { allowPrivate: true, resolve: resolveTo("127.0.0.1") }, "hooks.example.test");
    assert.equal(allowed.statusCode, 200);
    assert.equal(seen[0]?.headers.host, `hooks.example.test:${port}`);
  });

  it("refuses URLs that are not http(s) or hold credentials", async () => {
    const sender = createWebhookSender({ allowPrivate: true });
    for (const url of ["file:///etc/passwd", "http://user:pw@127.0.0.1/"]) {
      const result = await sender({ url, body: "{}", headers: {} });
      assert.equal(result.refused, true, url);
    }
  });
});
