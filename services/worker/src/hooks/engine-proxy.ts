import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { registryOfAddress } from "@slipway/core";
import type { RegistryAuth, RegistryCredentials } from "../image-builder.js";
import { checkContainerCreate, checkExecCreate, decide, type EnginePolicy, type HookSessionState } from "./engine-policy.js";

/** Where the engine listens: a unix socket, or a TCP port (plain HTTP). */
export type EngineAddress = { socketPath: string } | { host: string; port: number };

export interface EngineProxyOptions {
  engine: EngineAddress;
  policy: EnginePolicy;
  /**
   * The build's registry credentials. The proxy adds them to the hook's pushes, pulls and builds that
   * reach that registry: the hook is "logged in" without ever holding the password (or the token,
   * fetched afresh for each call).
   */
  auth?: RegistryCredentials;
  /** Put on every container the hook creates, so that the session's containers can be found. */
  labels: Record<string, string>;
}

export interface EngineProxy {
  /** The unix socket a hook's `docker` talks to (mounted into its container as /var/run/docker.sock). */
  socketPath: string;
  /** The containers the hook created, still to be removed when the session ends. */
  containers(): string[];
  /** Stops answering, ends every connection (hijacked ones too) and removes the socket. */
  close(): Promise<void>;
}

/** Small JSON bodies read whole (container and exec creates); builds and archives are streamed. */
const MAX_JSON_BODY = 1024 * 1024;

/** The engine's header encoding: base64 with the URL alphabet, padded. */
function encodeHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JSON_BODY) {
        reject(new Error("the request body is too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ message }));
}

/**
 * A Docker engine API endpoint for one build's hooks, on a unix socket of its own: every call is
 * checked against the build's policy (engine-policy.ts) and forwarded to the real engine, streams and
 * hijacked connections (`docker run`'s attach, `docker exec`) included.
 */
export async function startEngineProxy(options: EngineProxyOptions): Promise<EngineProxy> {
  const { engine, policy } = options;
  const state: HookSessionState = { containers: new Set(), names: new Map(), execs: new Set() };
  const created = new Set<string>();
  const hijacked = new Set<Duplex>();
  const dir = await mkdtemp(join(tmpdir(), "slipway-hook-"));
  const socketPath = join(dir, "docker.sock");

  const credentialsFor = async (registry: string | undefined): Promise<RegistryAuth | undefined> =>
    options.auth !== undefined && registry !== undefined && registryOfAddress(options.auth.serveraddress) === registry ? await options.auth.get() : undefined;

  function toEngine(method: string, path: string, headers: IncomingHttpHeaders) {
    return request({ ...("socketPath" in engine ? { socketPath: engine.socketPath } : { host: engine.host, port: engine.port }), method, path, headers });
  }

  /** Sends the call on; `capture` reads the engine's (small, JSON) answer before passing it back. */
  function forward(req: IncomingMessage, res: ServerResponse, path: string, headers: IncomingHttpHeaders, body?: Buffer, capture?: (status: number, json: unknown) => void): void {
    if (body !== undefined) {
      delete headers["transfer-encoding"];
      headers["content-length"] = String(body.length);
    }
    const upstream = toEngine(req.method ?? "GET", path, headers);
    res.on("close", () => {
      // The CLI went away (Ctrl-C, the hook ended): the engine stops a build whose connection closes.
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on("error", (err) => answer(res, 502, `Slipway build hooks: the Docker engine did not answer (${err.message})`));
    upstream.on("response", (reply) => {
      if (capture === undefined) {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        // The engine answers some calls at once and streams the body later (`wait`): the CLI waits
        // for those headers before it goes on (`docker run` starts the container only then).
        res.flushHeaders();
        reply.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      reply.on("data", (chunk: Buffer) => chunks.push(chunk));
      reply.on("end", () => {
        const text = Buffer.concat(chunks);
        try {
          capture(reply.statusCode ?? 502, JSON.parse(text.toString("utf8")));
        } catch {
          // Not JSON: nothing to remember; the CLI gets the engine's answer as it was.
        }
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        res.end(text);
      });
    });
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const decision = decide(method, url, policy, state);
    const headers: IncomingHttpHeaders = { ...req.headers };
    switch (decision.kind) {
      case "refuse":
        req.resume();
        answer(res, 403, decision.message);
        return;
      case "forward": {
        const auth = await credentialsFor(decision.registryAuth);
        if (auth !== undefined) headers["x-registry-auth"] = encodeHeader(auth);
        forward(req, res, decision.url ?? url, headers);
        return;
      }
      case "build": {
        if (options.auth !== undefined) {
          const auth = await options.auth.get();
          headers["x-registry-config"] = encodeHeader({ [auth.serveraddress]: auth });
        }
        const parsed = new URL(url, "http://engine");
        forward(req, res, `${parsed.pathname}?${decision.query.toString()}`, headers);
        return;
      }
      case "create-container":
      case "create-exec": {
        let parsedBody: unknown;
        try {
          parsedBody = JSON.parse((await readBody(req)).toString("utf8"));
        } catch (err) {
          answer(res, 400, `Slipway build hooks: the ${decision.kind === "create-exec" ? "exec" : "container"} create body is not JSON (${(err as Error).message})`);
          return;
        }
        const checked = decision.kind === "create-exec" ? checkExecCreate(parsedBody) : checkContainerCreate(parsedBody, options.labels, policy);
        if ("refusal" in checked) {
          answer(res, 403, checked.refusal);
          return;
        }
        forward(req, res, decision.kind === "create-exec" ? decision.url : url, headers, Buffer.from(JSON.stringify(checked.body)), (status, json) => {
          const id = (json as { Id?: unknown } | null)?.Id;
          if (status !== 201 || typeof id !== "string") return;
          if (decision.kind === "create-exec") {
            state.execs.add(id);
            return;
          }
          state.containers.add(id);
          created.add(id);
          if (decision.name !== undefined) state.names.set(decision.name.replace(/^\//, ""), id);
        });
        return;
      }
    }
  }

  /**
   * `docker run` (attached) and `docker exec` take over the connection: only an attach to one of the
   * hook's containers or the start of one of its execs may, checked like any call. The two sockets are
   * joined only once the engine has switched protocols (101): an engine that answers normally keeps
   * its connection open for more requests, which must never reach it unchecked.
   */
  function hijack(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (message: string) => {
      const body = JSON.stringify({ message });
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    const path = new URL(req.url ?? "/", "http://engine").pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, "");
    if (req.method !== "POST" || !/^\/(containers\/[^/]+\/attach|exec\/[^/]+\/start)$/.test(path)) {
      refuse("Slipway build hooks: only docker run's attach and docker exec take over a connection");
      return;
    }
    const decision = decide(req.method, req.url ?? "/", policy, state);
    if (decision.kind !== "forward") {
      refuse(decision.kind === "refuse" ? decision.message : "Slipway build hooks: this call cannot take over the connection");
      return;
    }
    const upstream: Socket = "socketPath" in engine ? connect(engine.socketPath) : connect(engine.port, engine.host);
    hijacked.add(socket).add(upstream);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      hijacked.delete(socket);
      hijacked.delete(upstream);
    };
    // The request's own body (an exec start's options) goes on with it; nothing the hook sends after
    // that goes on until the engine has switched protocols.
    const bodyLength = Number(req.headers["content-length"] ?? 0);
    if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || bodyLength > 64 * 1024) {
      refuse("Slipway build hooks: a request taking over the connection carries a small JSON body at most");
      return;
    }
    let body = head.subarray(0, bodyLength);
    let rest = head.subarray(bodyLength);
    socket.pause();
    const sendRequest = () => {
      const lines = [`${req.method} ${decision.url ?? req.url} HTTP/1.1`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(body);
    };
    upstream.on("connect", () => {
      if (body.length === bodyLength) {
        sendRequest();
        return;
      }
      // The body did not all come with the headers: read the rest of it, and no more.
      const onBody = (chunk: Buffer) => {
        const more = Buffer.concat([body, chunk]);
        body = more.subarray(0, bodyLength);
        if (body.length < bodyLength) return;
        rest = Buffer.concat([rest, more.subarray(bodyLength)]);
        socket.off("data", onBody);
        socket.pause();
        sendRequest();
      };
      socket.on("data", onBody);
      socket.resume();
    });
    let answer = Buffer.alloc(0);
    const onAnswer = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const headEnd = answer.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      upstream.off("data", onAnswer);
      const switched = / 101 /.test(answer.subarray(0, answer.indexOf("\r\n")).toString("latin1"));
      socket.write(answer);
      if (!switched) {
        // An ordinary answer (an error): passed on, and the connection ends with it.
        upstream.removeListener("close", end);
        upstream.destroy();
        hijacked.delete(upstream);
        socket.end(() => hijacked.delete(socket));
        return;
      }
      if (rest.length > 0) upstream.write(rest);
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.resume();
    };
    upstream.on("data", onAnswer);
    upstream.on("error", end);
    upstream.on("close", end);
    socket.on("error", end);
    socket.on("close", end);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => answer(res, 500, `Slipway build hooks: ${(err as Error).message}`));
  });
  server.on("upgrade", hijack);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });

  return {
    socketPath,
    containers: () => [...created],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of hijacked) socket.destroy();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
