/**
 * The hooks benchmark's baseline: the least a webhook endpoint can do, on `node:http` alone. It
 * reads the body, checks `X-Hub-Signature-256` (HMAC-SHA256, constant-time compare) and does one
 * BullMQ `add` to Redis, then answers 202 JSON; no parsing, no database, no logging.
 * Run as a child process by hooks.bench.ts (`fork`): it reads REDIS_URL, BASELINE_SECRET and
 * BASELINE_PREFIX, listens on a free port of 127.0.0.1 and sends `{ port }` to its parent; on
 * SIGTERM it closes, removes its queue from Redis and exits.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";

/** GitHub's own cap, as Slipway's hook endpoint has. */
const MAX_BODY = 25 * 1024 * 1024;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const secret = requireEnv("BASELINE_SECRET");
// The connection options Slipway's build queue uses.
const connection = new Redis(requireEnv("REDIS_URL"), { maxRetriesPerRequest: 1, enableOfflineQueue: true });
const queue = new Queue("build", { connection, prefix: requireEnv("BASELINE_PREFIX") });

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function isSigned(header: string | string[] | undefined, body: Buffer): boolean {
  if (typeof header !== "string" || !header.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice("sha256=".length), "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  if (!isSigned(req.headers["x-hub-signature-256"], body)) {
    answer(res, 401, { error: { code: "invalid_signature", message: "the delivery's signature does not match" } });
    return;
  }
  const delivery = req.headers["x-github-delivery"];
  const id = randomUUID();
  // The options Slipway's build queue adds its jobs with.
  await queue.add("build", { v: 1, buildId: id }, { jobId: id, removeOnComplete: true, removeOnFail: 1000 });
  answer(res, 202, { delivery, builds: [{ id }] });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      answer(res, 413, { error: { code: "payload_too_large", message: "the body is over 25 MB" } });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    handle(req, res, Buffer.concat(chunks, size)).catch((err: unknown) => {
      console.error(`baseline: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) answer(res, 500, { error: { code: "internal_error", message: (err as Error).message } });
    });
  });
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void (async () => {
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  })().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`baseline: could not clean up its queue: ${(err as Error).message}`);
      process.exit(1);
    },
  );
});

await queue.waitUntilReady();
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
