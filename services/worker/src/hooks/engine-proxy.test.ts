import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import { startEngineProxy, type EngineProxy } from "./engine-proxy.js";

/** What a raw client reads on a unix socket until the other side closes or goes quiet. */
function raw(socketPath: string, request: string, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let text = "";
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    socket.on("close", done);
    socket.on("error", done);
    socket.write(request);
    timer = setTimeout(done, quietMs * 3);
  });
}

describe("engine proxy: connections taken over (hijacked)", () => {
  let dir: string;
  let engine: Server;
  let proxy: EngineProxy;
  /** Every request line the fake engine saw. */
  const seen: string[] = [];
  const own = "a".repeat(64);
  const upgraded = new Set<Duplex>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-proxy-test-"));
    engine = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url?.endsWith("/containers/create")) {
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ Id: own }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    // An attach answers 101 and then echoes what the client sends, as a container's stdin/stdout would.
    engine.on("upgrade", (req, socket) => {
      seen.push(`UPGRADE ${req.method} ${req.url}`);
      upgraded.add(socket);
      socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
      socket.on("data", (chunk: Buffer) => socket.write(chunk));
    });
    const enginePath = join(dir, "engine.sock");
    await new Promise<void>((resolve) => engine.listen(enginePath, resolve));
    proxy = await startEngineProxy({ engine: { socketPath: enginePath }, policy: { repository: "127.0.0.1:5000/acme/hello" }, labels: { "slipway.build": "b1" } });
    // The hook's own container, made through the proxy.
    const body = JSON.stringify({ Image: "alpine" });
    const created = await raw(proxy.socketPath, `POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.match(created, /201/);
  });

  after(async () => {
    await proxy.close();
    for (const socket of upgraded) socket.destroy();
    engine.closeAllConnections();
    await new Promise((resolve) => engine.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to take over a connection for anything but attach and exec start, so nothing follows unchecked", async () => {
    const before = seen.length;
    const privileged = JSON.stringify({ Image: "alpine", HostConfig: { Privileged: true, Binds: ["/:/host"] } });
    const answer = await raw(
      proxy.socketPath,
      "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" +
        `POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${privileged.length}\r\n\r\n${privileged}`,
    );
    assert.match(answer, /^HTTP\/1.1 403/);
    assert.deepEqual(seen.slice(before), [], "the engine heard nothing of it");
  });

  it("joins an attach to the hook's own container once the engine has switched protocols", async () => {
    const answer = await raw(proxy.socketPath, `POST /v1.41/containers/${own}/attach?stream=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello`);
    assert.match(answer, /^HTTP\/1.1 101 UPGRADED/);
    assert.match(answer, /hello$/, "the stream flows both ways");
  });

  it("refuses an attach to a container the hook did not create", async () => {
    const answer = await raw(proxy.socketPath, `POST /v1.41/containers/${"b".repeat(64)}/attach?stream=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    assert.match(answer, /^HTTP\/1.1 403/);
    assert.match(answer, /containers they created only/);
  });
});
