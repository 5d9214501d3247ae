/**
 * The hook endpoint under load: signed 10 KB GitHub push deliveries, each with its own delivery
 * id, from 50 connections for 10 s, against Slipway's `POST /hooks/{sourceId}` (verify → parse →
 * record the delivery and its build → BullMQ add → 202) and, in the same run, against a bare
 * `node:http` server that reads the body, verifies its HMAC and does one BullMQ add
 * (hooks-baseline-server.ts). The load generator (hooks-load.ts), the baseline and Slipway's API
 * each run in their own process. Prints req/s, p50 and p99 of both, their ratio, and whether
 * Slipway recorded as many deliveries as it answered 2xx, and the CPU time each side (and the whole
 * machine) spent per answer; exits 0 whether a goal is met or missed,
 * 1 only on an error.
 * Options: --duration=S (default 10), --connections=N (50), --rounds=N (2), --warmup=S (2),
 * --cpu-prof (write a CPU profile of Slipway's API, for finding where its time goes).
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { githubPushPayload, requireEnv, startSlipway, type Slipway } from "@slipway/test";
import type { LoadJob, LoadResult } from "./hooks-load.js";
import { percentile, runBenchmark } from "./statistics.js";

const GOALS = { ratio: 0.9, p99Ms: 20 } as const;
const BODY_BYTES = 10 * 1024;
const here = dirname(fileURLToPath(import.meta.url));

interface Options {
  durationS: number;
  connections: number;
  rounds: number;
  warmupS: number;
  cpuProf: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { durationS: 10, connections: 50, rounds: 2, warmupS: 2, cpuProf: false };
  for (const arg of argv) {
    if (arg === "--cpu-prof") {
      options.cpuProf = true;
      continue;
    }
    const match = /^--(duration|connections|rounds|warmup)=(\d+)$/.exec(arg);
    const value = Number(match?.[2]);
    if (match === null || (value < 1 && match[1] !== "warmup")) {
      throw new Error(`unknown or invalid option ${arg} (--duration=S, --connections=N, --rounds=N, --warmup=S, --cpu-prof)`);
    }
    if (match[1] === "duration") options.durationS = value;
    else if (match[1] === "connections") options.connections = value;
    else if (match[1] === "rounds") options.rounds = value;
    else options.warmupS = value;
  }
  return options;
}

// ------------------------------------------------------------------------------------ statistics

/** The median of the rounds' figures (with two rounds, their mean). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  if (value === undefined || Number.isNaN(value)) throw new Error("median of no values");
  return value;
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;
const perS = (value: number): string => `${Math.round(value)}`;

// ---------------------------------------------------------------------------------- the subjects

const nonce = (): string => randomBytes(6).toString("hex");
const sign = (secret: string, body: string): string => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** GitHub's real push example for `repository`'s main branch, padded with commits to ≥ 10 KB. */
function pushBody(repository: string): { body: string; commits: number } {
  const payload = githubPushPayload({
    repository,
    ref: "refs/heads/main",
    after: randomBytes(20).toString("hex"),
    cloneUrl: `http://127.0.0.1:9/${repository}.git`,
  });
  const commits = payload["commits"] as Record<string, unknown>[];
  const template = commits[0]!;
  while (JSON.stringify(payload).length < BODY_BYTES) {
    commits.unshift({ ...template, id: randomBytes(20).toString("hex"), message: `an earlier commit ${commits.length}` });
  }
  return { body: JSON.stringify(payload), commits: commits.length };
}

interface Target {
  url: string;
  body: string;
  signature: string;
  /** Slipway's source, whose recorded deliveries are counted. */
  sourceId?: string;
}

/** A new Slipway repository linked to a new GitHub source (default rule: branch main), per phase. */
async function slipwayTarget(slipway: Slipway): Promise<Target> {
  const name = `hooks-${nonce()}`;
  const created = await slipway.api("POST", "/repositories", { namespace: "bench", name });
  if (created.status !== 201) throw new Error(`POST /repositories answered ${created.status}: ${JSON.stringify(created.body)}`);
  const repository = `bench/${name}`;
  const linked = await slipway.api("PUT", `/repositories/bench/${name}/source`, {
    provider: "github",
    repository,
    // Never cloned: no worker runs.
    cloneUrl: `http://127.0.0.1:9/${repository}.git`,
  });
  if (linked.status !== 201) throw new Error(`PUT …/source answered ${linked.status}: ${JSON.stringify(linked.body)}`);
  const { body } = pushBody(repository);
  return { url: `${slipway.url}/hooks/${linked.body.id}`, body, signature: sign(linked.body.secret, body), sourceId: linked.body.id };
}

interface Baseline {
  url: string;
  secret: string;
  pid: number;
  stop(): Promise<void>;
}

async function startBaseline(redisUrl: string): Promise<Baseline> {
  const secret = randomBytes(32).toString("hex");
  const child = fork(join(here, "hooks-baseline-server.js"), [], {
    env: { ...process.env, REDIS_URL: redisUrl, BASELINE_SECRET: secret, BASELINE_PREFIX: `slipway-bench-baseline-${nonce()}` },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (message: { port: number }) => resolve(message.port));
    child.once("exit", (code, signal) => reject(new Error(`the baseline server exited (${code ?? signal}) before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    secret,
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Children of ours still running, so an interrupted run can stop them. */
const loaders = new Set<ChildProcess>();

/** One autocannon run in a child process of its own. */
async function load(job: LoadJob): Promise<LoadResult> {
  const child = fork(join(here, "hooks-load.js"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  loaders.add(child);
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      child.once("message", (result: LoadResult) => resolve(result));
      child.once("exit", (code, signal) => reject(new Error(`the load generator exited (${code ?? signal}) without a result`)));
      child.send(job);
    });
  } finally {
    await stopChild(child);
    loaders.delete(child);
  }
}

// -------------------------------------------------------------------------------------- CPU time

/** Linux's USER_HZ: /proc counts CPU time in hundredths of a second on every architecture. */
const TICKS_PER_S = 100;

/** CPU seconds a process has used so far, all its threads (/proc/<pid>/stat: utime + stime). */
function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command (which may hold spaces), from the third on: utime is the 14th, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** CPU seconds the whole machine has been busy so far, every core (/proc/stat: all but idle and iowait). */
function machineCpuS(): number {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_S;
}

interface CpuUse {
  /** The server's CPU seconds over the run (every thread). */
  serverS: number;
  /** The machine's: both servers' (one idle), the load generator's, Redis's, everything else's. */
  machineS: number;
}

/** Runs `measured` and counts the CPU time the server `pid` and the machine spent meanwhile. */
async function withCpuUse<T>(pid: number, measured: () => Promise<T>): Promise<[T, CpuUse]> {
  const server = processCpuS(pid);
  const machine = machineCpuS();
  const result = await measured();
  return [result, { serverS: processCpuS(pid) - server, machineS: machineCpuS() - machine }];
}

// ------------------------------------------------------------------------------------- the runs

interface Figures {
  reqPerS: number;
  p50: number;
  p99: number;
  answered2xx: number;
  non2xx: number;
  errors: number;
  /** CPU µs per 2xx answer: the server's own, and the whole machine's. */
  serverCpuUs: number;
  machineCpuUs: number;
}

function figuresOf(result: LoadResult, cpu: CpuUse): Figures {
  const perAnswerUs = (seconds: number): number => (result.answered2xx > 0 ? (seconds * 1e6) / result.answered2xx : NaN);
  return {
    reqPerS: result.answered2xx / (result.elapsedMs / 1000),
    p50: result.latenciesMs.length > 0 ? percentile(result.latenciesMs, 50) : NaN,
    p99: result.latenciesMs.length > 0 ? percentile(result.latenciesMs, 99) : NaN,
    answered2xx: result.answered2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    serverCpuUs: perAnswerUs(cpu.serverS),
    machineCpuUs: perAnswerUs(cpu.machineS),
  };
}

function describe(label: string, f: Figures): string {
  return (
    `  ${label.padEnd(20)}${perS(f.reqPerS).padStart(8)} req/s   p50 ${ms(f.p50).padStart(9)}   p99 ${ms(f.p99).padStart(9)}` +
    `   2xx ${String(Math.round(f.answered2xx)).padStart(6)}   non-2xx ${Math.round(f.non2xx)}   errors ${Math.round(f.errors)}` +
    `   CPU/answer: server ${Math.round(f.serverCpuUs)} µs, machine ${Math.round(f.machineCpuUs)} µs`
  );
}

interface Recorded {
  /** Every delivery recorded for the source, whatever its outcome. */
  total: number;
  queued: number;
  /** 2xx answers whose delivery id is not among the recorded ones. */
  unrecorded: number;
  /** Recorded deliveries whose id got no 2xx answer. */
  unanswered: number;
  /** Recorded queued deliveries with no build or more than one. */
  withoutOneBuild: number;
}

/** Reads back, page by page, what Slipway recorded for a source, and matches it to the answers. */
async function recordedFor(slipway: Slipway, sourceId: string, answeredIds: readonly string[]): Promise<Recorded> {
  const ids = new Set<string>();
  let total = 0;
  let queued = 0;
  let withoutOneBuild = 0;
  let cursor: string | null = null;
  do {
    const query: string = `/deliveries?source=${encodeURIComponent(sourceId)}&limit=100${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = await slipway.api<{ deliveries: { deliveryId: string | null; outcome: string; builds: string[] }[]; nextCursor: string | null }>("GET", query);
    if (page.status !== 200) throw new Error(`GET ${query} answered ${page.status}: ${JSON.stringify(page.body)}`);
    for (const d of page.body.deliveries) {
      total++;
      // Slipway keys a GitHub delivery by hook and guid ("4242:<X-GitHub-Delivery>").
      if (d.deliveryId !== null) ids.add(d.deliveryId.slice(d.deliveryId.lastIndexOf(":") + 1));
      if (d.outcome === "queued") {
        queued++;
        if (d.builds.length !== 1) withoutOneBuild++;
      }
    }
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  const answered = new Set(answeredIds);
  let unrecorded = 0;
  for (const id of answered) if (!ids.has(id)) unrecorded++;
  let unanswered = 0;
  for (const id of ids) if (!answered.has(id)) unanswered++;
  return { total, queued, unrecorded, unanswered, withoutOneBuild };
}

// ---------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const redisUrl = requireEnv("REDIS_URL");
  const profileFile = join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), `hooks-api-${nonce()}.cpuprofile`);
  const job = (target: Target, durationS: number, trackIds: boolean): LoadJob => ({
    url: target.url,
    body: target.body,
    signature: target.signature,
    connections: options.connections,
    durationS,
    trackIds,
  });

  let slipway: Slipway | undefined;
  let baseline: Baseline | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all([...loaders].map(stopChild));
      await Promise.all([slipway?.stop(), baseline?.stop()]);
    })());
  // Ctrl-C reaches this process too: stop our children before leaving, not after.
  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    slipway = await startSlipway({
      worker: false,
      ...(options.cpuProf ? { env: { NODE_OPTIONS: `--import=${join(here, "cpu-profile.js")}`, BENCH_CPU_PROFILE: profileFile } } : {}),
    });
    baseline = await startBaseline(redisUrl);
    const sample = pushBody("bench/sample");

    console.log("hooks: signed GitHub push deliveries, Slipway's hook endpoint against a bare node:http server, same Redis");
    console.log(
      `  ${options.connections} connections, ${options.durationS} s per run after a ${options.warmupS} s warm-up; ` +
        `${options.rounds} round(s) of baseline then slipway; medians of the rounds`,
    );
    console.log(`  body: GitHub's push example padded to ${sample.body.length} bytes (${sample.commits} commits), a fresh X-GitHub-Delivery per request`);
    console.log("  slipway: POST /hooks/{sourceId} (API only, no worker): verify → parse → record delivery + build (SQLite, group commit) → BullMQ addBulk → 202");
    console.log("  baseline: node:http: read the body → HMAC-SHA256 verify → one BullMQ add → 202");
    console.log("  load: autocannon in its own process; each connection finishes its last request, so every delivery sent is answered");

    const rounds = { baseline: [] as Figures[], slipway: [] as Figures[] };
    const records: { recorded: Recorded; answered: number }[] = [];
    const baselineTarget = (): Target => {
      const { body } = pushBody("bench/baseline");
      return { url: baseline!.url, body, signature: sign(baseline!.secret, body) };
    };
    for (let round = 1; round <= options.rounds; round++) {
      if (options.warmupS > 0) await load(job(baselineTarget(), options.warmupS, false));
      const b = figuresOf(...(await withCpuUse(baseline.pid, () => load(job(baselineTarget(), options.durationS, false)))));
      rounds.baseline.push(b);
      console.log(describe(`round ${round} baseline`, b));

      // Each run has a source of its own, so its recorded deliveries are counted apart.
      if (options.warmupS > 0) await load(job(await slipwayTarget(slipway), options.warmupS, false));
      const target = await slipwayTarget(slipway);
      const [result, cpu] = await withCpuUse(slipway.apiPid, () => load(job(target, options.durationS, true)));
      const s = figuresOf(result, cpu);
      rounds.slipway.push(s);
      console.log(describe(`round ${round} slipway`, s));
      if (result.sampleErrors.length > 0) console.log(`    non-2xx answers, e.g.: ${result.sampleErrors.join(" | ")}`);
      const recorded = await recordedFor(slipway, target.sourceId!, result.answeredIds);
      records.push({ recorded, answered: result.answered2xx });
      console.log(
        `    recorded ${recorded.total} deliveries (${recorded.queued} queued) for ${result.answered2xx} answered 2xx` +
          `; answered but not recorded ${recorded.unrecorded}, recorded but not answered 2xx ${recorded.unanswered}` +
          (recorded.withoutOneBuild > 0 ? `; ${recorded.withoutOneBuild} queued without exactly one build` : ""),
      );
    }

    const med = (side: Figures[], f: (x: Figures) => number): number => median(side.map(f));
    const summary = (side: Figures[]): Figures => ({
      reqPerS: med(side, (x) => x.reqPerS),
      p50: med(side, (x) => x.p50),
      p99: med(side, (x) => x.p99),
      answered2xx: med(side, (x) => x.answered2xx),
      non2xx: med(side, (x) => x.non2xx),
      errors: med(side, (x) => x.errors),
      serverCpuUs: med(side, (x) => x.serverCpuUs),
      machineCpuUs: med(side, (x) => x.machineCpuUs),
    });
    const b = summary(rounds.baseline);
    const s = summary(rounds.slipway);
    const ratio = s.reqPerS / b.reqPerS;
    console.log(`\nmedians of ${options.rounds} round(s)`);
    console.log(describe("baseline", b));
    console.log(describe("slipway", s));
    console.log(`  ratio, slipway ÷ baseline req/s: ${ratio.toFixed(2)}×   p99: ${ms(s.p99)} against ${ms(b.p99)}`);
    console.log(
      `  CPU per answer, slipway ÷ baseline: server ${(s.serverCpuUs / b.serverCpuUs).toFixed(2)}×, machine ${(s.machineCpuUs / b.machineCpuUs).toFixed(2)}×`,
    );

    const recordedTotal = records.reduce((n, r) => n + r.recorded.total, 0);
    const answeredTotal = records.reduce((n, r) => n + r.answered, 0);
    const matched = recordedTotal === answeredTotal && records.every((r) => r.recorded.unrecorded === 0 && r.recorded.unanswered === 0);
    const verdict = (met: boolean): string => (met ? "met" : "missed");
    console.log("");
    console.log(`goal throughput ≥ ${GOALS.ratio}×: ${ratio.toFixed(2)}× (${verdict(ratio >= GOALS.ratio)})`);
    console.log(`goal p99 ≤ ${GOALS.p99Ms} ms: ${ms(s.p99)} (${verdict(s.p99 <= GOALS.p99Ms)})`);
    console.log(`goal recorded = answered 2xx: ${recordedTotal} = ${answeredTotal} (${verdict(matched)})`);
    if (options.cpuProf) console.log(`  CPU profile of the API, whole run (written when it stops): ${profileFile}`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stop();
  }
}

await runBenchmark("hooks", main);
