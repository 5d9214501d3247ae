import { request as httpRequest } from "node:http";
import { connect as netConnect, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** Answers within this time or counts as not answering. */
const PROBE_TIMEOUT_MS = 2_000;

function resp(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/**
 * Whether a Redis answers PING, over a raw socket (ioredis is the services' dependency, not
 * the launcher's). Sends AUTH first when the URL carries credentials.
 */
export function pingRedis(url: string): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(parsed.port || 6379);
  const commands: string[] = [];
  if (parsed.password) {
    const password = decodeURIComponent(parsed.password);
    commands.push(parsed.username ? resp(["AUTH", decodeURIComponent(parsed.username), password]) : resp(["AUTH", password]));
  }
  commands.push(resp(["PING"]));
  return new Promise((resolve) => {
    const socket: Socket =
      parsed.protocol === "rediss:" ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once(parsed.protocol === "rediss:" ? "secureConnect" : "connect", () => socket.write(commands.join("")));
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      if (answer.includes("+PONG\r\n")) done(true);
      else if (answer.startsWith("-") || answer.includes("\r\n-")) done(false);
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

interface HttpTarget {
  socketPath?: string;
  host?: string;
  port?: number;
}

function httpGetStatus(target: HttpTarget, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ ...target, path, method: "GET", timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", () => resolve(undefined));
    req.end();
  });
}

/** `unix:///run/x.sock` or `tcp://host:port` → where to send HTTP; undefined for what plain HTTP cannot reach (ssh://). */
export function toHttpTarget(dockerHost: string): HttpTarget | undefined {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  if (dockerHost.startsWith("tcp://") || dockerHost.startsWith("http://")) {
    const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 2375) };
  }
  return undefined;
}

/** Whether a Docker engine answers `GET /_ping`. */
export async function pingDocker(dockerHost: string): Promise<boolean> {
  const target = toHttpTarget(dockerHost);
  if (target === undefined) return false;
  return (await httpGetStatus(target, "/_ping")) === 200;
}

/** Whether a registry answers `GET /v2/` (401 counts: one with token auth is still a registry). */
export async function pingRegistry(address: string): Promise<boolean> {
  const { hostname, port } = new URL(`http://${address}`);
  const status = await httpGetStatus({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port || 80) }, "/v2/");
  return status === 200 || status === 401;
}

/** Whether something accepts TCP connections at host:port. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** `preferred` when nothing listens on 127.0.0.1 there, else (or for 0) a port the system picks. */
export async function choosePort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && preferred !== 0 && (await listenOn(preferred)) !== undefined) return preferred;
  const free = await listenOn(0);
  if (free === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return free;
}

export function isPortFree(port: number): Promise<boolean> {
  return listenOn(port).then((bound) => bound !== undefined);
}

/** `redis://user:secret@host` → `redis://user:***@host`, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
