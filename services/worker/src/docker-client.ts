import Dockerode from "dockerode";
import type { EngineAddress } from "./hooks/engine-proxy.js";

/** A dockerode client for DOCKER_HOST's forms: unix:///path, tcp://host:port, or the default socket. */
export function createDockerClient(dockerHost: string | undefined): Dockerode {
  if (!dockerHost) return new Dockerode({ socketPath: "/var/run/docker.sock" });
  const url = new URL(dockerHost);
  if (url.protocol === "unix:") return new Dockerode({ socketPath: url.pathname });
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    return new Dockerode({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
  }
  throw new Error(`DOCKER_HOST "${dockerHost}" is not unix:// or tcp://`);
}

/** Where the engine of a DOCKER_HOST value listens, for what talks to it without dockerode (the hooks' proxy). */
export function engineAddress(dockerHost: string | undefined): EngineAddress {
  const modem = createDockerClient(dockerHost).modem as { socketPath?: string; host?: string; port?: number | string };
  if (typeof modem.socketPath === "string") return { socketPath: modem.socketPath };
  return { host: modem.host ?? "127.0.0.1", port: Number(modem.port ?? 2375) };
}
