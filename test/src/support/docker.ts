import Docker from "dockerode";
import { toDockerOptions } from "@slipway/infra";
import { requireEnv } from "./slipway.js";

export function testDocker(): Docker {
  return new Docker(toDockerOptions(requireEnv("DOCKER_HOST")));
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err, output: { error?: string }[]) => {
      const failed = output?.find((m) => m.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve();
    });
  });
}

/**
 * Removes the local tag, pulls `ref` from the registry and runs it; returns what it printed. Only
 * the tag goes (noprune): the engine is shared by every test file, and pruning the image's parents
 * could pull layers from under another file's build or pull ("unrecognized image ID").
 */
export async function pullAndRun(ref: string): Promise<string> {
  const docker = testDocker();
  await docker.getImage(ref).remove({ force: true, noprune: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 404) throw err;
  });
  const registry = ref.split("/")[0]!;
  await follow(docker, await docker.pull(ref, { authconfig: { serveraddress: registry } }));
  const container = await docker.createContainer({ Image: ref, HostConfig: { NetworkMode: "none" } });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: true });
    // Strip the multiplexing headers (8 bytes per frame) of a non-TTY container's log.
    let out = "";
    for (let offset = 0; offset + 8 <= logs.length; ) {
      const size = logs.readUInt32BE(offset + 4);
      out += logs.subarray(offset + 8, offset + 8 + size).toString("utf8");
      offset += 8 + size;
    }
    return out;
  } finally {
    await container.remove({ force: true });
  }
}

/** The digest the registry serves for `repository:tag`, from its manifest endpoint. */
export async function registryDigest(registry: string, repository: string, tag: string): Promise<string | null> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  return res.ok ? res.headers.get("docker-content-digest") : null;
}
