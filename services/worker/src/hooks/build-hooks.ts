import { lstat, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { SlipwayError } from "@slipway/core";
import type { RegistryCredentials } from "../image-builder.js";
import { startEngineProxy, type EngineAddress, type EngineProxy } from "./engine-proxy.js";
import type { HookImage } from "./hook-image.js";

/** Docker Hub's hooks, in the order a build runs them. `build` and `push` replace those steps. */
export const HOOK_NAMES = ["post_checkout", "pre_build", "build", "post_build", "pre_push", "push", "post_push"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** Where the clone is mounted in a hook's container. */
const WORKSPACE = "/workspace";

/**
 * The hooks a build has: executable files named after Docker Hub's hooks in the `hooks/` folder beside
 * its Dockerfile, as paths relative to the clone. A hook that is not executable fails the build (Docker
 * Hub fails it too); one that leads outside the clone, through a symbolic link, is refused.
 */
export async function findHooks(cloneDir: string, dockerfile: string): Promise<Map<HookName, string>> {
  const root = await realpath(cloneDir);
  const folder = path.join(path.dirname(await realpath(dockerfile)), "hooks");
  const found = new Map<HookName, string>();
  for (const name of HOOK_NAMES) {
    const file = path.join(folder, name);
    if ((await lstat(file).catch(() => undefined)) === undefined) continue;
    const real = await realpath(file).catch(() => undefined);
    const relative = real === undefined ? undefined : path.relative(root, real);
    if (relative === undefined || relative.startsWith("..") || path.isAbsolute(relative)) {
      throw new SlipwayError("path_outside_clone", `hooks/${name} leads outside the repository: hooks must be files in it`);
    }
    const info = await stat(real!);
    if (!info.isFile()) continue;
    if ((info.mode & 0o111) === 0) {
      throw new SlipwayError("hook_failed", `hooks/${name} is not executable: mark it so (git update-index --chmod=+x hooks/${name}), as Docker Hub requires`);
    }
    found.set(name, relative.split(path.sep).join("/"));
  }
  return found;
}

export interface HookSessionOptions {
  buildId: string;
  /** The clone, mounted read-write at /workspace: what one hook writes, the next step sees. */
  cloneDir: string;
  /** The build context, relative to the clone: the hooks' working directory, as on Docker Hub. */
  contextDir: string;
  hooks: ReadonlyMap<HookName, string>;
  /** The image being built, without a tag: the only one hooks may tag and push. */
  repository: string;
  /** What the engine proxy adds to the hooks' calls that reach the build's registry. */
  auth?: RegistryCredentials;
  /** Docker Hub's variables and the repository's build variables. */
  env: Record<string, string>;
  /** The build log (masked). */
  log: (chunk: string) => void;
}

export interface HookSession {
  has(name: HookName): boolean;
  /** Runs the hook if the build has it; SlipwayError("hook_failed") naming it when it fails. */
  run(name: HookName, signal: AbortSignal): Promise<void>;
  /** Removes what the hooks left running and stops their engine proxy. Safe to call more than once. */
  close(): Promise<void>;
}

export interface HookRunner {
  open(options: HookSessionOptions): HookSession;
}

export interface HookRunnerOptions {
  docker: Dockerode;
  /** The engine the proxy forwards to: the worker's own. It must share the worker's filesystem (the clone is mounted). */
  engine: EngineAddress;
  image: HookImage;
  /** The network the worker's builds run on: hooks' `docker build` steps get the same. */
  buildNetwork?: string;
  logger: Logger;
}

async function removeContainers(docker: Dockerode, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}

/**
 * Runs a build's hooks in containers on the build engine: no network, the clone mounted, and a
 * `docker` that reaches the engine only through a per-build proxy enforcing what hooks may do.
 */
export function createHookRunner(runner: HookRunnerOptions): HookRunner {
  const { docker } = runner;
  return {
    open(options) {
      let proxy: Promise<EngineProxy> | undefined;
      const labels = { "slipway.build": options.buildId };

      async function runHook(name: HookName, file: string, signal: AbortSignal): Promise<void> {
        const image = await runner.image.ensure(options.log, signal);
        proxy ??= startEngineProxy({
          engine: runner.engine,
          policy: { repository: options.repository, ...(runner.buildNetwork === undefined ? {} : { buildNetwork: runner.buildNetwork }) },
          ...(options.auth === undefined ? {} : { auth: options.auth }),
          labels,
        });
        const { socketPath } = await proxy;
        signal.throwIfAborted();
        options.log(`Running hooks/${name}\n`);
        const env = { ...options.env, DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_BUILDKIT: "0" };
        let container: Dockerode.Container;
        try {
          container = await docker.createContainer({
            Image: image,
            Cmd: [path.posix.join(WORKSPACE, file)],
            Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
            WorkingDir: path.posix.join(WORKSPACE, options.contextDir),
            Labels: { ...labels, "slipway.hook": name },
            AttachStdout: true,
            AttachStderr: true,
            HostConfig: {
              Binds: [`${options.cloneDir}:${WORKSPACE}`, `${socketPath}:/var/run/docker.sock`],
              NetworkMode: "none",
              PidsLimit: 4096,
            },
          });
        } catch (err) {
          throw new SlipwayError("docker_unavailable", `the Docker engine could not create hooks/${name}'s container: ${(err as Error).message}`);
        }
        const kill = () => void container.kill().catch(() => undefined);
        signal.addEventListener("abort", kill, { once: true });
        try {
          const stream = await container.attach({ stream: true, stdout: true, stderr: true });
          const output = new PassThrough();
          const decoder = new TextDecoder();
          output.on("data", (chunk: Buffer) => options.log(decoder.decode(chunk, { stream: true })));
          docker.modem.demuxStream(stream, output, output);
          const drained = new Promise<void>((resolve) => {
            stream.on("end", resolve);
            stream.on("close", resolve);
            stream.on("error", () => resolve());
          });
          await container.start();
          const { StatusCode } = (await container.wait()) as { StatusCode: number };
          // The last of the output follows the exit by a moment.
          await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
          const rest = decoder.decode();
          if (rest !== "") options.log(rest);
          signal.throwIfAborted();
          if (StatusCode !== 0) throw new SlipwayError("hook_failed", `hooks/${name} failed with exit code ${StatusCode} (see the build log)`);
        } finally {
          signal.removeEventListener("abort", kill);
          await container.remove({ force: true }).catch(() => undefined);
        }
      }

      return {
        has: (name) => options.hooks.has(name),
        async run(name, signal) {
          const file = options.hooks.get(name);
          if (file === undefined) return;
          await runHook(name, file, signal);
        },
        async close() {
          const started = proxy;
          proxy = undefined;
          if (started === undefined) return;
          const open = await started.catch(() => undefined);
          if (open === undefined) return;
          await open.close();
          // What the hooks ran and left (`docker run -d`), stopped and removed with the session.
          await removeContainers(docker, open.containers());
          runner.logger.debug({ build: options.buildId }, "hook session closed");
        },
      };
    },
  };
}
