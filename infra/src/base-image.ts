import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import Docker from "dockerode";
import { toTarArchive } from "./tar-archive.js";

export interface BaseImageOptions {
  /** `unix:///path/docker.sock` or `tcp://host:port`. */
  dockerHost: string;
  /** `host:port` of the registry to push to. */
  registry: string;
  /** A statically linked busybox; default Debian's busybox-static at /bin/busybox. */
  busybox?: string;
}

const DOCKERFILE = [
  "FROM scratch",
  "COPY busybox /bin/busybox",
  'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
  "",
].join("\n");

/** dockerode's connection options for a DOCKER_HOST value. */
export function toDockerOptions(dockerHost: string): Docker.DockerOptions {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  if (url.protocol === "ssh:") {
    return { protocol: "ssh", host: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), ...(url.username ? { username: url.username } : {}) };
  }
  return { protocol: url.protocol === "https:" ? "https" : "http", host: url.hostname, port: Number(url.port || 2375) };
}

/** Whether an ELF executable names a program interpreter (is dynamically linked). */
function isDynamicElf(binary: Buffer): boolean {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = binary[4] === 2;
  const little = binary[5] === 1;
  const u16 = (o: number): number => (little ? binary.readUInt16LE(o) : binary.readUInt16BE(o));
  const u32 = (o: number): number => (little ? binary.readUInt32LE(o) : binary.readUInt32BE(o));
  const phoff = is64 ? Number(little ? binary.readBigUInt64LE(32) : binary.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 <= binary.length && u32(at) === PT_INTERP) return true;
  }
  return false;
}

/** Reads a build or push progress stream to its end; the first error entry becomes an exception. */
async function followProgress(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  const output = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => (err ? reject(err) : resolve(out)));
  });
  const failed = output.find((entry) => entry.error !== undefined || entry.errorDetail !== undefined);
  if (failed !== undefined) throw new Error(`${what}: ${failed.errorDetail?.message ?? failed.error}`);
}

/**
 * The test base image `<registry>/slipway/busybox:latest`: Debian's static busybox with its
 * applets linked into /bin, built FROM scratch (no network, nothing pulled) and pushed.
 * Idempotent: the build is cached and the push finds the layers already there.
 */
export async function ensureBaseImage(options: BaseImageOptions): Promise<string> {
  const reference = `${options.registry}/slipway/busybox:latest`;
  const busyboxPath = options.busybox ?? "/bin/busybox";
  let busybox: Buffer;
  try {
    busybox = await readFile(busyboxPath);
  } catch (err) {
    throw new Error(`base image: cannot read ${busyboxPath} (Debian: apt-get install busybox-static): ${(err as Error).message}`);
  }
  if (isDynamicElf(busybox)) {
    throw new Error(`base image: ${busyboxPath} is dynamically linked and cannot run FROM scratch (Debian: apt-get install busybox-static)`);
  }
  const docker = new Docker(toDockerOptions(options.dockerHost));
  const context = toTarArchive([
    { name: "Dockerfile", content: DOCKERFILE },
    { name: "busybox", content: busybox, mode: 0o755 },
  ]);
  const build = await docker.buildImage(Readable.from([context]), {
    t: reference,
    // The engine that `npm test` runs has no bridge network.
    networkmode: "none",
    rm: true,
    forcerm: true,
  });
  await followProgress(docker, build, `base image: building ${reference}`);
  // The engine wants an X-Registry-Auth header even for a registry without accounts.
  const push = await docker.getImage(reference).push({ authconfig: { serveraddress: options.registry } });
  await followProgress(docker, push, `base image: pushing ${reference}`);
  return reference;
}
