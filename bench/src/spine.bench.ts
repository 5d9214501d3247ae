/**
 * The spine, timed: a signed GitHub push → the image in the registry, for a tiny image, cold and
 * warm, against the same steps run by hand in the same run on the same engine and registry
 * (`git clone --depth 1`, `docker build`, `docker push`); then pickup, the time an idle worker
 * takes to start a queued build. Prints medians, p90 and ratios; exits 0 whether a goal is met
 * or missed, 1 only on an error. Options: --iterations=N (default 7), --pickup=N (default 50).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  githubPushPayload,
  isolatedGitEnv,
  requireEnv,
  sendGithubDelivery,
  startGitServer,
  startSlipway,
  type GitServer,
  type Slipway,
} from "@slipway/test";
import { percentile, runBenchmark } from "./statistics.js";

const execFileAsync = promisify(execFile);

const GOALS = { coldRatio: 1.25, warmRatio: 1.5, pickupP99Ms: 10 } as const;
/** How often the client asks for a timed build's status: the wall times are this coarse. */
const POLL_MS = 10;
/** Quiet time before each pickup sample, so the worker has finished the previous job and waits. */
const IDLE_MS = 250;
const TERMINAL = new Set(["success", "failed", "canceled", "timed_out", "superseded"]);

interface Options {
  iterations: number;
  pickups: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { iterations: 7, pickups: 50 };
  for (const arg of argv) {
    const match = /^--(iterations|pickup)=(\d+)$/.exec(arg);
    if (match === null || Number(match[2]) < 1) throw new Error(`unknown or invalid option ${arg} (--iterations=N, --pickup=N)`);
    if (match[1] === "iterations") options.iterations = Number(match[2]);
    else options.pickups = Number(match[2]);
  }
  return options;
}

// ------------------------------------------------------------------------------------ statistics

const median = (values: readonly number[]): number => percentile(values, 50);
const ms = (value: number): string => `${Math.round(value)} ms`;
const ratio = (value: number): string => `${value.toFixed(2)}×`;

// ------------------------------------------------------------------------------------- samples

interface SlipwaySample {
  /** Request sent → the client sees `success`. */
  wallMs: number;
  /** Request sent → 202 received. */
  acceptMs: number;
  /** The build's own finishedAt − queuedAt. */
  ownMs: number;
  /** From the build's timeline: queued→cloning, cloning→building, building→pushing, pushing→success. */
  pickupMs: number;
  cloneMs: number;
  buildMs: number;
  pushMs: number;
}

interface HandSample {
  wallMs: number;
  cloneMs: number;
  buildMs: number;
  pushMs: number;
}

interface Repo {
  forgeName: string;
  webhookUrl: string;
  secret: string;
  commit: string;
}

function dockerfile(baseImage: string, nonce: string): string {
  // The nonce changes the RUN step's command, so only a rebuild of the same text hits the layer cache.
  return `FROM ${baseImage}\nRUN echo "bench ${nonce}" > /bench.txt\n`;
}

const nonce = (): string => randomBytes(6).toString("hex");

function at(build: any, status: string): number {
  const event = (build.timeline as { status: string; at: string }[]).find((e) => e.status === status);
  if (event === undefined) throw new Error(`build ${build.id} has no ${status} event in its timeline: ${JSON.stringify(build.timeline)}`);
  return Date.parse(event.at);
}

// ------------------------------------------------------------------------------------ the bench

interface Bench {
  git: GitServer;
  slipway: Slipway;
  registry: string;
  baseImage: string;
  work: string;
  dockerEnv: NodeJS.ProcessEnv;
}

async function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** A forge repository whose first commit holds a Dockerfile with its own nonce. */
async function createForgeRepo(bench: Bench, name: string): Promise<{ forgeName: string; url: string; commit: string }> {
  const forgeName = `bench/${name}`;
  await bench.git.createRepo(forgeName);
  const { commit } = await bench.git.commitAndPush(forgeName, { Dockerfile: dockerfile(bench.baseImage, nonce()) }, { message: `bench ${name}` });
  return { forgeName, url: bench.git.url(forgeName), commit };
}

/** A forge repository linked to a new Slipway repository (so a new image name). */
async function createSlipwayRepo(bench: Bench, kind: string): Promise<Repo> {
  const name = `${kind}-${nonce()}`;
  const { forgeName, url, commit } = await createForgeRepo(bench, name);
  const created = await bench.slipway.api("POST", "/repositories", { namespace: "bench", name });
  if (created.status !== 201) throw new Error(`POST /repositories answered ${created.status}: ${JSON.stringify(created.body)}`);
  const linked = await bench.slipway.api("PUT", `/repositories/bench/${name}/source`, { provider: "github", repository: forgeName, cloneUrl: url });
  if (linked.status !== 201 && linked.status !== 200) throw new Error(`PUT …/source answered ${linked.status}: ${JSON.stringify(linked.body)}`);
  return { forgeName, webhookUrl: linked.body.webhookUrl, secret: linked.body.secret, commit };
}

async function pollUntilEnded(bench: Bench, id: string, everyMs: number): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await bench.slipway.api("GET", `/builds/${id}`);
    if (res.status !== 200) throw new Error(`GET /builds/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (TERMINAL.has(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`build ${id} still ${res.body.status} after 120 s`);
    await sleep(everyMs);
  }
}

/** Sends a signed push delivery (a new delivery id each time) and waits for its one build to end. */
async function pushThroughSlipway(bench: Bench, repo: Repo, everyMs: number): Promise<{ build: any; wallMs: number; acceptMs: number; acceptedAt: number }> {
  const payload = githubPushPayload({ repository: repo.forgeName, ref: "refs/heads/main", after: repo.commit, cloneUrl: bench.git.url(repo.forgeName) });
  const start = performance.now();
  const answer = await sendGithubDelivery(repo.webhookUrl, payload, { secret: repo.secret });
  const acceptMs = performance.now() - start;
  const acceptedAt = Date.now();
  if (answer.status !== 202 || answer.body?.builds?.length !== 1) {
    throw new Error(`the delivery was answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  const id: string = answer.body.builds[0].id;
  const build = await pollUntilEnded(bench, id, everyMs);
  const wallMs = performance.now() - start;
  if (build.status !== "success") {
    const log = await bench.slipway.api<string>("GET", `/builds/${id}/logs`);
    throw new Error(`build ${id} ended ${build.status}: ${JSON.stringify(build.error)}\n${String(log.body).slice(-2000)}`);
  }
  return { build, wallMs, acceptMs, acceptedAt };
}

async function throughSlipway(bench: Bench, repo: Repo): Promise<SlipwaySample> {
  const { build, wallMs, acceptMs } = await pushThroughSlipway(bench, repo, POLL_MS);
  return {
    wallMs,
    acceptMs,
    ownMs: Date.parse(build.finishedAt) - Date.parse(build.queuedAt),
    pickupMs: at(build, "cloning") - at(build, "queued"),
    cloneMs: at(build, "building") - at(build, "cloning"),
    buildMs: at(build, "pushing") - at(build, "building"),
    pushMs: at(build, "success") - at(build, "pushing"),
  };
}

/** The same three steps as typed in a shell; the clone's folder is removed after the clock stops. */
async function byHand(bench: Bench, url: string, ref: string): Promise<HandSample> {
  const dir = await mkdtemp(join(bench.work, "hand-"));
  const src = join(dir, "src");
  try {
    const t0 = performance.now();
    await run("git", ["clone", "--quiet", "--depth", "1", url, src], { ...process.env, ...isolatedGitEnv });
    const t1 = performance.now();
    await run("docker", ["build", "--network", "none", "--rm", "--force-rm", "--tag", ref, src], bench.dockerEnv);
    const t2 = performance.now();
    await run("docker", ["push", ref], bench.dockerEnv);
    const t3 = performance.now();
    return { wallMs: t3 - t0, cloneMs: t1 - t0, buildMs: t2 - t1, pushMs: t3 - t2 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------- reports

function row(cells: readonly string[]): string {
  const widths = [22, 10, 10, 10, 10, 10];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 10) : c.padStart(widths[i] ?? 10))).join("");
}

function printComparison(label: string, slipway: readonly SlipwaySample[], hand: readonly HandSample[]): number {
  const r = median(slipway.map((s) => s.wallMs)) / median(hand.map((s) => s.wallMs));
  const pick = <T>(samples: readonly T[], f: (s: T) => number, p: number): string => ms(percentile(samples.map(f), p));
  console.log(`\n${label} (${slipway.length} each)          median       p90`);
  console.log(row(["  slipway, push→image", pick(slipway, (s) => s.wallMs, 50), pick(slipway, (s) => s.wallMs, 90)]));
  console.log(row(["  by hand", pick(hand, (s) => s.wallMs, 50), pick(hand, (s) => s.wallMs, 90)]));
  console.log(row(["  ratio (medians)", ratio(r)]));
  console.log(row(["  slipway's own", pick(slipway, (s) => s.ownMs, 50), pick(slipway, (s) => s.ownMs, 90), "  (finishedAt − queuedAt)"]));
  console.log(`  where the time goes (medians):   accept   pickup    clone    build     push`);
  console.log(
    row([
      "  slipway",
      pick(slipway, (s) => s.acceptMs, 50),
      pick(slipway, (s) => s.pickupMs, 50),
      pick(slipway, (s) => s.cloneMs, 50),
      pick(slipway, (s) => s.buildMs, 50),
      pick(slipway, (s) => s.pushMs, 50),
    ]),
  );
  console.log(row(["  by hand", "", "", pick(hand, (s) => s.cloneMs, 50), pick(hand, (s) => s.buildMs, 50), pick(hand, (s) => s.pushMs, 50)]));
  return r;
}

// ---------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const registry = requireEnv("SLIPWAY_REGISTRY");
  const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
  const tmp = requireEnv("SLIPWAY_TEST_TMP");
  mkdirSync(tmp, { recursive: true });
  const work = await mkdtemp(join(tmp, "spine-bench-"));
  const dockerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: requireEnv("DOCKER_HOST"),
    // The classic builder: what the worker's POST /build drives. A config folder of our own: no
    // credential helpers or plugins of the machine's user.
    DOCKER_BUILDKIT: "0",
    DOCKER_CONFIG: join(work, "docker-config"),
    DOCKER_CLI_HINTS: "false",
  };

  mkdirSync(join(work, "docker-config"));
  let git: GitServer | undefined;
  let slipway: Slipway | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await slipway?.stop();
      await git?.close();
      await rm(work, { recursive: true, force: true });
    })());
  // Ctrl-C reaches this process too: stop Slipway's processes before leaving, not after.
  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    git = await startGitServer({ root: join(work, "git") });
    slipway = await startSlipway();
    const bench: Bench = { git, slipway, registry, baseImage, work, dockerEnv };
    const engine = (await run("docker", ["version", "--format", "{{.Server.Version}}"], dockerEnv)).trim();

    console.log("spine: push → image pushed, Slipway against the same steps by hand, same engine and registry");
    console.log(`  engine: Docker ${engine}; registry ${registry}; base image ${baseImage}`);
    console.log("  by hand: git clone --depth 1 <url>; DOCKER_BUILDKIT=0 docker build --network none --rm --force-rm -t <ref> <dir>; docker push <ref>");
    console.log("           (the classic builder, with the options the worker gives the engine's /build API; each step a new process, as in a shell)");
    console.log("  slipway: a signed GitHub push delivery → polling GET /api/v1/builds/{id} every 10 ms until success");
    console.log(`  cold: a new commit with a fresh RUN step and a new image name each time; warm: the same commit and image again`);
    console.log(`  ${options.iterations} iterations per side, interleaved, after one discarded warm-up round`);

    // Warm subjects: one repository per side, built once untimed so their layer and registry blobs exist.
    const slipwayWarm = await createSlipwayRepo(bench, "warm");
    await throughSlipway(bench, slipwayWarm);
    const handWarm = await createForgeRepo(bench, `hand-warm-${nonce()}`);
    const handWarmRef = `${registry}/hand/warm-${nonce()}:latest`;
    await byHand(bench, handWarm.url, handWarmRef);

    const samples = { slipwayCold: [] as SlipwaySample[], handCold: [] as HandSample[], slipwayWarm: [] as SlipwaySample[], handWarm: [] as HandSample[] };
    for (let round = 0; round <= options.iterations; round++) {
      const keep = round > 0;
      const slipwayCold = await createSlipwayRepo(bench, "cold");
      const handCold = await createForgeRepo(bench, `hand-cold-${nonce()}`);
      const handColdRef = `${registry}/hand/cold-${nonce()}:latest`;
      // Which side goes first alternates, so neither always runs on the heels of the other.
      const slipwayFirst = round % 2 === 0;
      const cold = [
        async () => {
          const s = await throughSlipway(bench, slipwayCold);
          if (keep) samples.slipwayCold.push(s);
        },
        async () => {
          const s = await byHand(bench, handCold.url, handColdRef);
          if (keep) samples.handCold.push(s);
        },
      ];
      const warm = [
        async () => {
          const s = await throughSlipway(bench, slipwayWarm);
          if (keep) samples.slipwayWarm.push(s);
        },
        async () => {
          const s = await byHand(bench, handWarm.url, handWarmRef);
          if (keep) samples.handWarm.push(s);
        },
      ];
      for (const step of slipwayFirst ? cold : [...cold].reverse()) await step();
      for (const step of slipwayFirst ? warm : [...warm].reverse()) await step();
      process.stdout.write(keep ? `  round ${round}/${options.iterations} done\n` : "  warm-up round done\n");
    }
    const coldRatio = printComparison("cold", samples.slipwayCold, samples.handCold);
    const warmRatio = printComparison("warm", samples.slipwayWarm, samples.handWarm);

    // Pickup: one build at a time on an idle worker (cached builds of the warm repository).
    const pickups: number[] = [];
    const toAnswer: number[] = [];
    const afterAnswer: number[] = [];
    for (let i = 0; i < options.pickups; i++) {
      await sleep(IDLE_MS);
      const { build, acceptedAt } = await pushThroughSlipway(bench, slipwayWarm, 25);
      pickups.push(at(build, "cloning") - at(build, "queued"));
      toAnswer.push(acceptedAt - at(build, "queued"));
      afterAnswer.push(at(build, "cloning") - acceptedAt);
    }
    // The issue's pickup is 202 → cloning (the client's receipt of the answer to the worker's
    // stamp, one clock); queued → cloning, which adds the API's own work, is printed beside it.
    const p99 = percentile(afterAnswer, 99);
    console.log(`\npickup, idle worker, ${pickups.length} builds one at a time`);
    console.log(
      `  202 received → cloning: p50 ${ms(median(afterAnswer))}   p90 ${ms(percentile(afterAnswer, 90))}   p99 ${ms(p99)}   max ${ms(Math.max(...afterAnswer))}` +
        "   (negative: the worker started before the answer reached the client)",
    );
    console.log(`  queued → cloning in the build's timeline (adds the API's recording and queueing):`);
    console.log(
      `  p50 ${ms(median(pickups))}   p90 ${ms(percentile(pickups, 90))}   p99 ${ms(percentile(pickups, 99))}   max ${ms(Math.max(...pickups))}` +
        (pickups.length < 100 ? `   (p99 of ${pickups.length} is the slowest)` : ""),
    );
    console.log(`  of which queued → 202 received by the client: p50 ${ms(median(toAnswer))}, max ${ms(Math.max(...toAnswer))}`);
    const slowest = pickups
      .map((pickup, i) => ({ pickup, toAnswer: toAnswer[i] ?? 0, afterAnswer: afterAnswer[i] ?? 0 }))
      .sort((a, b) => b.pickup - a.pickup)
      .slice(0, 3);
    console.log(`  slowest: ${slowest.map((s) => `${ms(s.pickup)} (${s.toAnswer} + ${s.afterAnswer})`).join(", ")}`);

    const verdict = (met: boolean): string => (met ? "met" : "missed");
    console.log("");
    console.log(`goal cold ≤ ${GOALS.coldRatio}×: ${ratio(coldRatio)} (${verdict(coldRatio <= GOALS.coldRatio)})`);
    console.log(`goal warm ≤ ${GOALS.warmRatio}×: ${ratio(warmRatio)} (${verdict(warmRatio <= GOALS.warmRatio)})`);
    console.log(`goal pickup (202 → cloning) p99 ≤ ${GOALS.pickupP99Ms} ms: ${ms(p99)} (${verdict(p99 <= GOALS.pickupP99Ms)})`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stop();
  }
}

await runBenchmark("spine", main);
