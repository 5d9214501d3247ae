import { request } from "node:http";

/**
 * Asks a Docker engine's `/_ping` over its socket or TCP address. The API only needs to
 * know the engine answers (readiness), not to drive it: that is the worker's job.
 */
export function pingDocker(dockerHost: string | undefined): Promise<void> {
  const target = dockerHost ?? "unix:///var/run/docker.sock";
  const url = new URL(target.replace(/^tcp:/, "http:"));
  const options =
    url.protocol === "unix:"
      ? { socketPath: url.pathname, path: "/_ping" }
      : { host: url.hostname, port: Number(url.port || 2375), path: "/_ping" };
  return new Promise((resolve, reject) => {
    const req = request({ ...options, method: "GET", timeout: 2_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the Docker engine answered ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("the Docker engine did not answer")));
    req.on("error", reject);
    req.end();
  });
}
