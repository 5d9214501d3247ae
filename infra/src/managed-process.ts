import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process this launcher started and alone stops, tracked by PID. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string | undefined;
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** Sends the stop signal, waits, then SIGKILLs the process group; resolves once nothing of it is left. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnManagedOptions {
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here… */
  logFile?: string;
  /** …or handed over line by line. */
  onLine?: (line: string) => void;
  /** Written with the PID so a later run can end this process if this one dies without stopping it. */
  pidFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** PostgreSQL's SIGTERM waits for clients to leave; it wants SIGINT. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

/** Processes started and not yet seen to exit, for the last-chance handler below. */
const live = new Map<number, NodeJS.Signals>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // The parent may end without calling stop() (an uncaught error, process.exit): the
  // children are in their own process groups, so nothing else would end them.
  process.on("exit", () => {
    for (const [pid, signal] of live) sendSignal(pid, signal);
  });
}

/** process.kill, where "no such process" is an answer rather than an error. */
export function sendSignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

/** Whether a process runs: a zombie (ended, not yet reaped by its parent) does not. */
export function isAlive(pid: number): boolean {
  if (!sendSignal(pid, 0)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (err) {
    // No /proc (macOS): the signal's answer is all there is.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string | undefined, lines = 20): string {
  if (file === undefined) return "";
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Starts a process in its own process group (so a Ctrl-C on the terminal reaches only
 * the launcher, which stops everything in order), output to a log file.
 */
export async function spawnManaged(options: SpawnManagedOptions): Promise<ManagedProcess> {
  let fd: number | undefined;
  if (options.logFile !== undefined) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    fd = openSync(options.logFile, "a");
  }
  const child = spawn(options.command, options.args, {
    detached: true,
    stdio: ["ignore", fd ?? "pipe", fd ?? "pipe"],
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  if (fd !== undefined) closeSync(fd);
  const onLine = options.onLine;
  if (onLine !== undefined) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on("line", onLine);
    }
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (err) => reject(new Error(`${options.name}: cannot run ${options.command}: ${err.message}`)));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: ${options.command} has no PID`);

  const stopSignal = options.stopSignal ?? "SIGTERM";
  installExitHook();
  live.set(pid, stopSignal);
  let running = true;
  void exited.then(() => {
    running = false;
    live.delete(pid);
  });
  if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);

  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = options.stopTimeoutMs ?? 15_000): Promise<void> => {
    stopping ??= (async () => {
      if (running) sendSignal(pid, stopSignal);
      const timer = new AbortController();
      const timeout = sleep(timeoutMs, "timeout" as const, { signal: timer.signal }).catch(() => "exited" as const);
      const outcome = await Promise.race([exited, timeout]);
      timer.abort();
      if (outcome === "timeout") {
        sendSignal(-pid, "SIGKILL");
        sendSignal(pid, "SIGKILL");
        await exited;
      }
      await endGroup(pid);
      if (options.pidFile !== undefined) rmSync(options.pidFile, { force: true });
    })();
    return stopping;
  };

  return { name: options.name, pid, logFile: options.logFile, exited, isRunning: () => running, stop };
}

/** What the leader left in its process group (a helper it forked and did not reap) goes too. */
async function endGroup(pgid: number): Promise<void> {
  if (!sendSignal(-pgid, 0)) return;
  sendSignal(-pgid, "SIGTERM");
  for (let i = 0; i < 20; i++) {
    await sleep(100);
    if (!sendSignal(-pgid, 0)) return;
  }
  sendSignal(-pgid, "SIGKILL");
}

/** Linux's start time of a PID (clock ticks since boot): tells a PID from a reused one. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces; the fields after its closing parenthesis are plain.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** "<pid> <start time> <launcher pid> <launcher start time>" */
function writePidFile(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${pid} ${startTimeOf(pid) ?? "?"} ${process.pid} ${startTimeOf(process.pid) ?? "?"}\n`);
}

/** Whether `pid` is still the process that started at `startTime`. */
function isSameProcess(pid: number, startTime: string | undefined): boolean {
  return Number.isInteger(pid) && pid > 0 && startTime !== undefined && startTime !== "?" && startTimeOf(pid) === startTime;
}

/**
 * Ends a process an earlier launcher started and left behind (it was killed outright), when
 * its pid file still names it: same PID and same start time, so never a stranger. A launcher
 * still running owns its processes: that is an error, not a leftover.
 */
export async function reapLeftover(pidFile: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | undefined> {
  let content: string;
  try {
    content = readFileSync(pidFile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const [pidText, startTime, launcherText, launcherStart] = content.trim().split(" ");
  const pid = Number(pidText);
  if (!isSameProcess(pid, startTime)) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  const launcher = Number(launcherText);
  if (isSameProcess(launcher, launcherStart)) {
    throw new Error(`${pidFile} names pid ${pid}, which launcher pid ${launcher} started and still runs: one launcher per data folder`);
  }
  sendSignal(pid, signal);
  for (let i = 0; i < 300 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) sendSignal(-pid, "SIGKILL");
  await endGroup(pid);
  rmSync(pidFile, { force: true });
  return pid;
}
