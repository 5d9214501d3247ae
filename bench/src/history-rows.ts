/**
 * The history benchmark's builds: a deterministic stream of build rows, oldest first, shaped as
 * the store's `builds` table holds them (packages/store: schema.ts, rows.ts `toBuildRow` and
 * `toBuildChanges`). The same seed gives the same rows for SQLite and PostgreSQL; only the
 * repository's and rules' ids, which Slipway made through its API, differ.
 */

/** The rules the benchmark's repository has (created through the API), by role. */
export interface HistoryRules {
  main: string;
  develop: string;
  release: string;
  tag: string;
}

export interface HistoryTarget {
  repositoryId: string;
  /** "ns/name", as builds.repository holds it. */
  repository: string;
  image: string;
  rules: HistoryRules;
}

/** One build row: every column of the `builds` table (store schema.ts `BuildTable`). */
export interface HistoryRow {
  id: string;
  repository_id: string;
  repository: string;
  rule_id: string | null;
  delivery_id: string | null;
  status: string;
  cause: string;
  source_type: string;
  source_name: string;
  commit_sha: string;
  commit_message: string;
  tags: string;
  dockerfile: string;
  context: string;
  cache: number;
  build_args: string;
  image: string;
  digest: string | null;
  error: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  log_seq: number;
}

export interface HistoryPlan {
  count: number;
  /** The queued time of the newest build, ms since the epoch. */
  endMs: number;
  seed: number;
}

/** The rare branch of the filtered case: about one build in 2,000, spread over the whole history. */
export const RARE_BRANCH = "release-0.9-lts";
const RARE_SHARE = 0.0005;

/** Statuses by share: mostly success, some failed and canceled, a few of the other ends. */
const STATUS_SHARES: readonly [string, number][] = [
  ["success", 0.9],
  ["failed", 0.065],
  ["canceled", 0.025],
  ["superseded", 0.007],
  ["timed_out", 0.003],
];

const MESSAGES = [
  "Fix the health check's timeout",
  "Bump base image",
  "Add metrics endpoint",
  "Refactor the config loader",
  "Update dependencies",
  "Handle empty payloads",
  "Log the request id",
  "Speed up the test suite",
  "Document the deployment",
  "Retry transient registry errors",
  "Merge pull request from feature branch",
  "Tidy the Dockerfile",
];

/** Column values as rows.ts writes them (JSON text), made once. */
const FAILURES = [
  { code: "dockerfile_error", message: "The command '/bin/sh -c make test' returned a non-zero code: 2" },
  { code: "clone_failed", message: "git fetch failed: the remote end hung up unexpectedly" },
  { code: "registry_refused", message: "the registry refused the push: unauthorized" },
].map((error) => JSON.stringify(error));
const CANCELED = JSON.stringify({ code: "canceled", message: "canceled by the administrator" });
const TIMED_OUT = JSON.stringify({ code: "timed_out", message: "the build ran longer than 3600 s" });
const PUSH = JSON.stringify({ type: "push" });
const MANUAL = JSON.stringify({ type: "manual" });

/** Mulberry32: small, fast, and the same numbers every run for the same seed. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The average gap between two builds: a million builds then span about two years.
 * Gaps are at least a second, so ids (which start with the millisecond) increase with time.
 */
const MEAN_GAP_MS = 60_000;

/** Where the oldest build starts: the newest then lands near `endMs` (within hours, of years). */
function startMs(plan: HistoryPlan): number {
  return plan.endMs - plan.count * MEAN_GAP_MS;
}

/** Every 16-bit number as four hex digits: hex strings by lookup, a million rows' worth in a blink. */
const HEX4 = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, "0"));

function hex16(random: () => number): string {
  return HEX4[Math.floor(random() * 65536)]!;
}

/** `count` × 8 random hex digits. */
function hex32(random: () => number, count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) out += hex16(random) + hex16(random);
  return out;
}

/**
 * A UUIDv7 as core's newId() makes them (RFC 9562): 48-bit millisecond timestamp, version 7,
 * 12 random bits, the variant, 62 random bits; lower-case hex, so text order is time order.
 */
function toUuidV7(ms: number, random: () => number): string {
  const time = ms.toString(16).padStart(12, "0");
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex16(random).slice(1)}-${variant}${hex16(random).slice(1)}-${hex32(random, 1)}${hex16(random)}`;
}

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
let isoDay = NaN;
let isoPrefix = "";

/** `Date#toISOString()`, with the date part made once a day: three per row add up over a million. */
function toIso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const t = ms - day * DAY_MS;
  return `${isoPrefix}${PAD2[Math.floor(t / 3_600_000)]}:${PAD2[Math.floor(t / 60_000) % 60]}:${PAD2[Math.floor(t / 1000) % 60]}.${PAD3[t % 1000]}Z`;
}

function pickStatus(r: number): string {
  let sum = 0;
  for (const [status, share] of STATUS_SHARES) {
    sum += share;
    if (r < sum) return status;
  }
  return "success";
}

/** The rows, oldest first; ids strictly increase. */
export function* toHistoryRows(plan: HistoryPlan, target: HistoryTarget): Generator<HistoryRow> {
  const random = createRandom(plan.seed);
  let ms = startMs(plan);
  let release = 0;
  let patch = 0;
  for (let index = 0; index < plan.count; index++) {
    // Gaps between 1 s and 119 s, mean 60 s.
    ms += 1000 + Math.floor(random() * 118_000);
    const id = toUuidV7(ms, random);
    // A new release branch every 50,000 builds, tags on it now and then.
    if (index % 50_000 === 0) {
      release++;
      patch = 0;
    }
    const r = random();
    let sourceType = "branch";
    let sourceName: string;
    let ruleId: string;
    let tag: string;
    if (r < RARE_SHARE) {
      sourceName = RARE_BRANCH;
      ruleId = target.rules.release;
      tag = RARE_BRANCH;
    } else if (r < 0.55) {
      sourceName = "main";
      ruleId = target.rules.main;
      tag = "latest";
    } else if (r < 0.8) {
      sourceName = "develop";
      ruleId = target.rules.develop;
      tag = "edge";
    } else if (r < 0.97) {
      sourceName = `release-1.${release}`;
      ruleId = target.rules.release;
      tag = sourceName;
    } else {
      sourceType = "tag";
      patch++;
      sourceName = `v1.${release}.${patch}`;
      ruleId = target.rules.tag;
      tag = `1.${release}.${patch}`;
    }
    const status = pickStatus(random());
    const cause = random() < 0.9 ? PUSH : MANUAL;
    const commit = hex32(random, 5);
    const message = `${MESSAGES[Math.floor(random() * MESSAGES.length)] ?? MESSAGES[0]} (#${1000 + (index >> 4)})`;
    // A canceled build was sometimes canceled while still queued: it never started.
    const started = status === "canceled" && random() < 0.5 ? null : ms + 200 + Math.floor(random() * 2800);
    const runMs = status === "timed_out" ? 3_600_000 : status === "success" ? 20_000 + Math.floor(random() * 220_000) : 5_000 + Math.floor(random() * 60_000);
    const finished = (started ?? ms) + (started === null ? 1000 : runMs);
    let error: string | null = null;
    if (status === "failed") error = FAILURES[Math.floor(random() * FAILURES.length)] ?? null;
    else if (status === "canceled") error = CANCELED;
    else if (status === "timed_out") error = TIMED_OUT;
    yield {
      id,
      repository_id: target.repositoryId,
      repository: target.repository,
      rule_id: ruleId,
      // Push builds whose delivery record has since been pruned: the column is SET NULL then.
      delivery_id: null,
      status,
      cause,
      source_type: sourceType,
      source_name: sourceName,
      commit_sha: commit,
      commit_message: message,
      // Names of letters, digits, dots and dashes: nothing to escape.
      tags: `["${tag}"]`,
      dockerfile: "Dockerfile",
      context: "/",
      cache: 1,
      build_args: "{}",
      image: target.image,
      digest: status === "success" ? `sha256:${hex32(random, 8)}` : null,
      error,
      queued_at: toIso(ms),
      started_at: started === null ? null : toIso(started),
      finished_at: toIso(finished),
      // No build_logs rows: the last sequence number handed out is 0.
      log_seq: 0,
    };
  }
}
