import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureBaseImage } from "./base-image.js";
import { reapLeftovers, runtimeDirOf, startStack, type Stack, type StackPart } from "./stack.js";

export interface TestStackOptions {
  /** Wiped at the start: nothing may lean on what an earlier run left. */
  dataDir: string;
  parts: readonly StackPart[];
  ports: { redis?: number; registry?: number; postgres?: number };
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface TestStack extends Stack {
  /**
   * The stack's REDIS_URL, DOCKER_HOST, SLIPWAY_REGISTRY (and SLIPWAY_TEST_POSTGRES_URL), plus
   * SLIPWAY_TEST_BASE_IMAGE and SLIPWAY_TEST_TMP: what the tests and benchmarks read.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly baseImage: string;
}

/** Mounts a killed dockerd left under the data folder would make the wipe fail (EBUSY). */
function unmountUnder(dir: string): void {
  let mounts: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const points = mounts
    .split("\n")
    .map((line) => line.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((p): p is string => p !== undefined && p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) execFileSync("umount", ["-l", point]);
}

/**
 * A fresh data folder every run. The Docker data-root goes too; the only layers a run
 * starts from are the base image's, rebuilt in about a second.
 */
async function wipe(dataDir: string, log: (line: string) => void): Promise<void> {
  const reaped = await reapLeftovers(dataDir);
  if (reaped.length > 0) log(`ended ${reaped.length} process(es) an interrupted run left: ${reaped.join(", ")}`);
  for (const dir of [dataDir, runtimeDirOf(dataDir)]) {
    if (!existsSync(dir)) continue;
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What `npm test` and `npm run bench` run against: a wiped data folder, a stack of their own
 * ("own" mode, on the given ports) and the test base image built and pushed to its registry.
 * On failure or abort, whatever was started is stopped before it rejects.
 */
export async function startTestStack(options: TestStackOptions): Promise<TestStack> {
  const dataDir = resolve(options.dataDir);
  await wipe(dataDir, options.log);
  const tmp = join(dataDir, "tmp");
  mkdirSync(tmp, { recursive: true });
  const stack = await startStack({
    dataDir,
    mode: "own",
    parts: options.parts,
    ports: options.ports,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    // The caller stops the stack: it has children of its own sharing the terminal's Ctrl-C.
    handleSignals: false,
    log: options.log,
  });
  try {
    const { DOCKER_HOST: dockerHost, SLIPWAY_REGISTRY: registry } = stack.env;
    if (dockerHost === undefined || registry === undefined) throw new Error("the stack has no Docker engine or registry");
    const baseImage = await ensureBaseImage({ dockerHost, registry });
    options.log(`base image: ${baseImage}`);
    options.signal?.throwIfAborted();
    return {
      env: { ...stack.env, SLIPWAY_TEST_BASE_IMAGE: baseImage, SLIPWAY_TEST_TMP: tmp },
      processes: stack.processes,
      // What had to live outside the data folder (short socket paths, a data folder PostgreSQL
      // could not reach) goes with the stack: a run from another folder would never wipe it.
      stop: async () => {
        await stack.stop();
        rmSync(runtimeDirOf(dataDir), { recursive: true, force: true });
      },
      baseImage,
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/**
 * Starts a test stack, runs `work` in its environment, and stops the stack whatever happens,
 * Ctrl-C included (the children `work` runs share the terminal and get it too). Answers
 * `work`'s exit code; 130 or 143 when interrupted; 1 when the stack could not start.
 */
export async function withTestStack(
  options: Omit<TestStackOptions, "signal">,
  work: (env: NodeJS.ProcessEnv, interrupted: () => boolean) => Promise<number>,
): Promise<number> {
  const controller = new AbortController();
  let stack: TestStack | undefined;
  let exitCode = 0;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    exitCode = signal === "SIGINT" ? 130 : 143;
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    stack = await startTestStack({ ...options, signal: controller.signal });
    const code = await work({ ...process.env, ...stack.env }, () => interrupted);
    if (!interrupted) exitCode = code;
  } catch (err) {
    if (!interrupted) {
      options.log((err as Error).message);
      exitCode = 1;
    }
  } finally {
    options.log("stopping the stack");
    await stack?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return exitCode;
}
