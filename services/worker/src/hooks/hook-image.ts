import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, constants, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import type Dockerode from "dockerode";
import { SlipwayError } from "@slipway/core";
import { pack } from "tar-stream";
import { followJsonStream } from "../image-builder.js";

/**
 * The image build hooks run in: a shell, the `docker` CLI and `git`, as Docker Hub's builders had.
 * Made FROM scratch on the build engine out of the worker machine's own programs (Debian's
 * busybox-static, docker.io's CLI and git, with the shared libraries each needs), so nothing is
 * pulled; or an image the operator names (SLIPWAY_HOOK_IMAGE, e.g. `docker:cli`), which must have `sh` and `docker`.
 */
export interface HookImage {
  /** The image's reference, built or pulled on first use. */
  ensure(log: (chunk: string) => void, signal: AbortSignal): Promise<string>;
}

export interface HookImageOptions {
  docker: Dockerode;
  /** An image to use as it is, instead of building one. */
  image?: string;
  /** Where to look for busybox, docker and git; default the worker's PATH and /bin. */
  path?: string;
}

const run = promisify(execFile);

/** The first executable of that name on the path, or undefined. */
async function which(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** The shared libraries a program loads, as `ldd` lists them: none for a static one. */
async function librariesOf(program: string): Promise<string[]> {
  let output: string;
  try {
    output = (await run("ldd", [program])).stdout;
  } catch (err) {
    // ldd exits 1 on "not a dynamic executable": a static program needs nothing.
    if (/not a dynamic executable|statically linked/.test(String((err as { stdout?: unknown }).stdout) + String((err as { stderr?: unknown }).stderr))) return [];
    throw err;
  }
  const found: string[] = [];
  for (const line of output.split("\n")) {
    const path = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path !== undefined) found.push(path);
  }
  return found;
}

const DOCKERFILE = `FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root DOCKER_HOST=unix:///var/run/docker.sock DOCKER_BUILDKIT=0
WORKDIR /workspace
`;

/** Hooks written for Docker Hub start `#!/bin/bash`: BusyBox's ash runs them. */
const BASH = `#!/bin/sh\nexec /bin/sh "$@"\n`;

interface Entry {
  name: string;
  content?: Buffer | string;
  mode?: number;
  type?: "file" | "directory" | "symlink";
  linkname?: string;
}

async function contextOf(entries: readonly Entry[]): Promise<Readable> {
  const archive = pack();
  for (const entry of entries) {
    if (entry.type === "directory") archive.entry({ name: entry.name, type: "directory", mode: entry.mode ?? 0o755, mtime: new Date(0) });
    else if (entry.type === "symlink") archive.entry({ name: entry.name, type: "symlink", linkname: entry.linkname!, mtime: new Date(0) });
    else archive.entry({ name: entry.name, mode: entry.mode ?? 0o644, mtime: new Date(0) }, entry.content ?? "");
  }
  archive.finalize();
  return archive as unknown as Readable;
}

export function createHookImage(options: HookImageOptions): HookImage {
  const { docker } = options;

  async function present(ref: string): Promise<boolean> {
    try {
      await docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw new SlipwayError("docker_unavailable", `the Docker engine could not show the hook image ${ref}: ${(err as Error).message}`);
    }
  }

  async function pullConfigured(ref: string, log: (chunk: string) => void, signal: AbortSignal): Promise<string> {
    if (await present(ref)) return ref;
    log(`Pulling the hook image ${ref}\n`);
    let failure: string | undefined;
    try {
      const stream = await docker.pull(ref, { abortSignal: signal });
      await followJsonStream(stream, signal, (message) => {
        failure = message.errorDetail?.message ?? message.error ?? failure;
      });
    } catch (err) {
      failure = (err as Error).message;
    }
    signal.throwIfAborted();
    if (failure !== undefined) throw new SlipwayError("hook_failed", `the hook image ${ref} (SLIPWAY_HOOK_IMAGE) cannot be pulled: ${failure}`);
    return ref;
  }

  /** What the image is made of: programs and libraries at their paths in the image, and the reference that names them. */
  async function plan(): Promise<{ ref: string; files: Map<string, string> }> {
    const path = options.path ?? `${process.env["PATH"] ?? ""}${delimiter}/bin${delimiter}/usr/bin`;
    const busybox = await which("busybox", path);
    const cli = await which("docker", path);
    if (busybox === undefined || cli === undefined) {
      throw new SlipwayError(
        "hook_failed",
        `build hooks need a shell and the docker CLI: install busybox-static and docker.io on the worker's machine (${busybox === undefined ? "busybox" : "docker"} is missing), or set SLIPWAY_HOOK_IMAGE to an image that has both`,
      );
    }
    const git = await which("git", path);
    const files = new Map<string, string>();
    for (const [at, from] of [["bin/busybox", busybox], ["usr/bin/docker", cli], ...(git === undefined ? [] : [["usr/bin/git", git]])] as Array<[string, string]>) {
      files.set(at, from);
      for (const library of await librariesOf(from)) files.set(library.replace(/^\/+/, ""), library);
    }
    const hash = createHash("sha256").update(DOCKERFILE).update(BASH);
    for (const [at, from] of [...files].sort(([a], [b]) => a.localeCompare(b))) hash.update(at).update(await readFile(from));
    return { ref: `slipway/hook-runtime:${hash.digest("hex").slice(0, 16)}`, files };
  }

  async function buildOwn({ ref, files }: { ref: string; files: Map<string, string> }, log: (chunk: string) => void): Promise<string> {
    log(`Making the hook image ${ref} on this engine (once)\n`);
    const entries: Entry[] = [
      { name: "Dockerfile", content: DOCKERFILE },
      ...["rootfs/tmp/", "rootfs/root/", "rootfs/var/run/", "rootfs/workspace/"].map((name): Entry => ({ name, type: "directory", mode: name === "rootfs/tmp/" ? 0o1777 : 0o755 })),
      { name: "rootfs/bin/bash", content: BASH, mode: 0o755 },
      { name: "rootfs/usr/bin/env", type: "symlink", linkname: "/bin/busybox" },
      { name: "rootfs/etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
      { name: "rootfs/etc/group", content: "root:x:0:\n" },
    ];
    for (const [at, from] of files) entries.push({ name: `rootfs/${at}`, content: await readFile(from), mode: 0o755 });
    let failure: string | undefined;
    try {
      const stream = await docker.buildImage(await contextOf(entries), { t: ref, networkmode: "none", rm: true, forcerm: true });
      await followJsonStream(stream, new AbortController().signal, (message) => {
        failure = message.errorDetail?.message ?? message.error ?? failure;
      });
    } catch (err) {
      failure = (err as Error).message;
    }
    if (failure !== undefined) throw new SlipwayError("hook_failed", `the hook image could not be made on the build engine: ${failure}`);
    return ref;
  }

  let planned: Promise<{ ref: string; files: Map<string, string> }> | undefined;
  let making: Promise<string> | undefined;
  /** Concurrent builds share one making of the image; a failure is tried again by the next build. */
  function once(make: () => Promise<string>): Promise<string> {
    making ??= make().finally(() => {
      making = undefined;
    });
    return making;
  }

  return {
    async ensure(log, signal) {
      if (options.image !== undefined) return pullConfigured(options.image, log, signal);
      planned ??= plan().catch((err: unknown) => {
        planned = undefined;
        throw err;
      });
      const own = await planned;
      // Checked every time: an operator may have pruned the engine's images since.
      if (await present(own.ref)) return own.ref;
      return once(() => buildOwn(own, log));
    },
  };
}
