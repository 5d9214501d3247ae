import Dockerode from "dockerode";

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
