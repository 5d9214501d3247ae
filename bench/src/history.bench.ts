/**
 * A repository with a million builds, on SQLite and then on PostgreSQL: how long the builds API
 * and the dashboard's repository page take for the newest page, deep pages and filtered pages.
 * The repository, its source and rules are made through Slipway's API (its own schema and
 * migrations); the builds are inserted straight into the same database, then ANALYZEd. Prints
 * p50 and p99 per case, the list query's plan, and closing goal lines; exits 0 whether a goal
 * is met or missed, 1 only on an error.
 * Options: --builds=N (1000000), --requests=N (200), --warmup=N (20), --pages=N (30),
 * --databases=sqlite,postgres.
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { requireEnv, startSlipway, type Slipway } from "@slipway/test";
import { createPostgresHistory, createSqliteHistory, type HistoryDatabase, type ListQuery, type QueryPlan } from "./history-database.js";
import { RARE_BRANCH, toHistoryRows, type HistoryRow, type HistoryTarget } from "./history-rows.js";
import { percentile, runBenchmark } from "./statistics.js";

const GOALS = { apiP99Ms: 50, pageP99Ms: 200 } as const;
const PAGE_SIZE = 25;
/** Page loads per case before the measured ones (the first loads fill the HTTP cache and the JIT). */
const PAGE_WARMUP = 3;
/** Where the deep cases start, as a share of the history counted from the newest build. */
const DEEP = [0.5, 0.9] as const;
/** Migration 0005's index for the branch filter: the sourceName case is also timed without it. */
const SOURCE_INDEX = "builds_repository_id_source_name_idx";

type DatabaseKind = "sqlite" | "postgres";

interface Options {
  builds: number;
  requests: number;
  warmup: number;
  pages: number;
  databases: DatabaseKind[];
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { builds: 1_000_000, requests: 200, warmup: 20, pages: 30, databases: ["sqlite", "postgres"] };
  for (const arg of argv) {
    const number = /^--(builds|requests|warmup|pages)=(\d+)$/.exec(arg);
    const databases = /^--databases=((?:sqlite|postgres)(?:,(?:sqlite|postgres))*)$/.exec(arg);
    if (number !== null && (Number(number[2]) >= 1 || number[1] === "warmup")) {
      options[number[1] as "builds" | "requests" | "warmup" | "pages"] = Number(number[2]);
    } else if (databases !== null) {
      options.databases = [...new Set(databases[1]!.split(",") as DatabaseKind[])];
    } else {
      throw new Error(`unknown or invalid option ${arg} (--builds=N, --requests=N, --warmup=N, --pages=N, --databases=sqlite,postgres)`);
    }
  }
  if (options.builds < 1000) throw new Error("--builds must be at least 1000 (the deep and filtered cases need a history)");
  return options;
}

// ------------------------------------------------------------------------------------ statistics

const ms = (value: number): string => (Number.isNaN(value) ? "—" : `${value.toFixed(1)} ms`);
const seconds = (value: number): string => `${(value / 1000).toFixed(1)} s`;
const count = (value: number): string => value.toLocaleString("en-US");
const nonce = (): string => randomBytes(4).toString("hex");
const verdict = (met: boolean): string => (met ? "met" : "missed");

// ------------------------------------------------------------------------------------ the cases

/** One way of asking for a page of the repository's builds, by the API and by the dashboard. */
interface Case {
  label: string;
  /** The API's query string (after `?`). */
  api: URLSearchParams;
  /** The dashboard's hash query (after `#/r/ns/name?`), or undefined when the page is not measured. */
  page: URLSearchParams | undefined;
  /** The store query, for EXPLAIN. */
  store: Omit<ListQuery, "repositoryId" | "limit">;
  /** Checks an answer's builds (the filter or cursor held); a message when not. */
  check(builds: any[]): string | undefined;
}

function toCases(cursors: readonly { share: number; id: string }[]): Case[] {
  const cases: Case[] = [
    { label: "first page", api: new URLSearchParams(), page: new URLSearchParams(), store: {}, check: () => undefined },
  ];
  for (const { share, id } of cursors) {
    cases.push({
      label: `deep, ${Math.round(share * 100)} % back`,
      api: new URLSearchParams({ cursor: id }),
      // One deep case is enough for the page, whose loads take far longer than API calls.
      page: share === DEEP[0] ? new URLSearchParams({ cursor: id }) : undefined,
      store: { cursor: id },
      check: (builds) => (builds.every((b) => b.id < id) ? undefined : "a build newer than the cursor"),
    });
  }
  cases.push({
    label: "status=failed",
    api: new URLSearchParams({ status: "failed" }),
    page: new URLSearchParams({ status: "failed" }),
    store: { status: "failed" },
    check: (builds) => (builds.every((b) => b.status === "failed") ? undefined : "a build that did not fail"),
  });
  cases.push({
    label: `sourceName=${RARE_BRANCH}`,
    api: new URLSearchParams({ sourceName: RARE_BRANCH }),
    // The dashboard's filter field is `source` in its URL.
    page: new URLSearchParams({ source: RARE_BRANCH }),
    store: { sourceName: RARE_BRANCH },
    check: (builds) => (builds.every((b) => b.sourceName === RARE_BRANCH) ? undefined : `a build of another branch (is the sourceName filter there?)`),
  });
  return cases;
}

// --------------------------------------------------------------------------------------- seeding

interface Seeded {
  target: HistoryTarget;
  /** "ns/name". */
  fullName: string;
  cursors: { share: number; id: string }[];
  inserted: number;
  insertMs: number;
  analyzeMs: number;
}

function expectStatus(answer: { status: number; body: unknown }, expected: number[], what: string): void {
  if (!expected.includes(answer.status)) throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

/** The repository, its source and four rules, through the API as a user would make them. */
async function createTarget(slipway: Slipway): Promise<{ target: HistoryTarget; fullName: string }> {
  const name = `history-${nonce()}`;
  const fullName = `bench/${name}`;
  expectStatus(await slipway.api("POST", "/repositories", { namespace: "bench", name, description: "A million builds" }), [201], "POST /repositories");
  // Never cloned (no worker runs); linking makes the default rule, branch main → latest.
  const linked = await slipway.api("PUT", `/repositories/${fullName}/source`, { provider: "github", repository: fullName, cloneUrl: `http://127.0.0.1:9/${fullName}.git` });
  expectStatus(linked, [200, 201], "PUT …/source");
  const rule = async (sourceType: string, sourceName: string, dockerTag: string): Promise<string> => {
    const created = await slipway.api("POST", `/repositories/${fullName}/rules`, { sourceType, sourceName, dockerTag });
    expectStatus(created, [201], `POST …/rules ${sourceType} ${sourceName}`);
    return created.body.id;
  };
  const rules = await slipway.api("GET", `/repositories/${fullName}/rules`);
  expectStatus(rules, [200], "GET …/rules");
  const main = (rules.body.rules as any[]).find((r) => r.sourceType === "branch" && r.sourceName === "main");
  if (main === undefined) throw new Error(`linking made no default rule: ${JSON.stringify(rules.body)}`);
  const repo = await slipway.api("GET", `/repositories/${fullName}`);
  expectStatus(repo, [200], "GET /repositories/…");
  return {
    fullName,
    target: {
      repositoryId: repo.body.id,
      repository: fullName,
      image: repo.body.image,
      rules: {
        main: main.id,
        develop: await rule("branch", "develop", "edge"),
        release: await rule("branch", "/^release-.*$/", "{sourceref}"),
        tag: await rule("tag", "/^v([0-9.]+)$/", "{\\1}"),
      },
    },
  };
}

/** Inserts the builds, noting the ids the deep cases start from. */
async function seed(db: HistoryDatabase, slipway: Slipway, builds: number): Promise<Seeded> {
  const { target, fullName } = await createTarget(slipway);
  // Two days back: a timed-out build's end is still in the past.
  const plan = { count: builds, endMs: Date.now() - 2 * 86_400_000, seed: 0x5eed };
  // Index counted from the oldest: the build `share` of the way back from the newest.
  const wanted = new Map(DEEP.map((share) => [builds - 1 - Math.floor(share * builds), share]));
  const cursors: { share: number; id: string }[] = [];
  function* tapped(): Generator<HistoryRow> {
    let index = 0;
    for (const row of toHistoryRows(plan, target)) {
      const share = wanted.get(index++);
      if (share !== undefined) cursors.push({ share, id: row.id });
      yield row;
    }
  }
  const start = performance.now();
  const inserted = await db.insert(tapped());
  const insertMs = performance.now() - start;
  await db.analyze();
  const analyzeMs = performance.now() - start - insertMs;
  // SQLite's ANALYZE blocked the event loop: let the client's idle keep-alive sockets that
  // Slipway closed meanwhile be seen closed before the next request picks one.
  await new Promise((resolve) => setTimeout(resolve, 50));
  cursors.sort((a, b) => a.share - b.share);
  return { target, fullName, cursors, inserted, insertMs, analyzeMs };
}

// ------------------------------------------------------------------------------------------- API

interface ApiResult {
  label: string;
  timesMs: number[];
  /** The first build of the answer, to check that the page shows the same one. */
  firstId: string | undefined;
  plan: QueryPlan;
  /** The same query with the index its plan uses dropped (in a transaction rolled back). */
  without?: { index: string; plan: QueryPlan };
}

/** One request as a client sees it: sent → whole body read. */
async function timeRequest(slipway: Slipway, path: string): Promise<{ ms: number; body: any }> {
  const start = performance.now();
  const res = await fetch(`${slipway.url}/api/v1${path}`, { headers: { authorization: `Bearer ${slipway.adminToken}` } });
  const text = await res.text();
  const elapsed = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return { ms: elapsed, body: JSON.parse(text) };
}

/** Every case, `warmup + requests` times, the cases taking turns so the machine's noise hits all alike. */
async function measureApi(slipway: Slipway, db: HistoryDatabase, seeded: Seeded, cases: readonly Case[], options: Options): Promise<ApiResult[]> {
  const path = (c: Case): string => {
    const q = new URLSearchParams(c.api);
    q.set("limit", String(PAGE_SIZE));
    return `/repositories/${seeded.fullName}/builds?${q}`;
  };
  const results = cases.map((c) => ({ label: c.label, timesMs: [] as number[], firstId: undefined as string | undefined }));
  for (let round = 0; round < options.warmup + options.requests; round++) {
    for (const [i, c] of cases.entries()) {
      const { ms: elapsed, body } = await timeRequest(slipway, path(c));
      const result = results[i]!;
      if (round === 0) {
        // Checked once: the answers do not change (nothing writes).
        const builds = body.builds as any[];
        // A short history (--builds) may have fewer rare builds than a page; never none.
        if (builds.length === 0 || (builds.length !== PAGE_SIZE && c.store.sourceName === undefined)) {
          throw new Error(`${c.label}: ${builds.length} builds, not ${PAGE_SIZE}`);
        }
        const wrong = c.check(builds);
        if (wrong !== undefined) throw new Error(`${c.label}: ${wrong}`);
        result.firstId = builds[0]?.id;
      }
      if (round >= options.warmup) result.timesMs.push(elapsed);
    }
  }
  const explained: ApiResult[] = [];
  for (const [i, c] of cases.entries()) {
    const query = { repositoryId: seeded.target.repositoryId, limit: PAGE_SIZE, ...c.store };
    const plan = await db.explain(query);
    const result: ApiResult = { ...results[i]!, plan };
    if (c.store.sourceName !== undefined && plan.lines.some((line) => line.includes(SOURCE_INDEX))) {
      result.without = { index: SOURCE_INDEX, plan: await db.explain(query, SOURCE_INDEX) };
    }
    explained.push(result);
  }
  return explained;
}

/** The cursor Slipway hands out is the last build's id: follow it a few pages, as a client would. */
async function checkCursorWalk(slipway: Slipway, fullName: string): Promise<void> {
  let cursor: string | null = null;
  let last = "\uffff";
  for (let page = 0; page < 5; page++) {
    const q: string = `/repositories/${fullName}/builds?limit=${PAGE_SIZE}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const { body } = await timeRequest(slipway, q);
    const ids = (body.builds as any[]).map((b) => b.id as string);
    if (ids.length !== PAGE_SIZE || ids.some((id, i) => id >= (i === 0 ? last : ids[i - 1]!))) {
      throw new Error(`page ${page + 1} is not the next ${PAGE_SIZE} builds, newest first`);
    }
    if (body.nextCursor !== ids.at(-1)) throw new Error(`nextCursor is not the page's last id: the deep cases build their cursors that way`);
    last = ids.at(-1)!;
    cursor = body.nextCursor;
  }
}

// ------------------------------------------------------------------------------------------ page

/** Where a load's time went, each ms from navigation start (the Resource Timing entries). */
interface Milestones {
  /** The last of the dashboard's modules (/ui/*.js) arrived. */
  scripts: number;
  /** GET /api/v1/session answered: the page knows it is signed in. */
  session: number;
  /** The repository, its rules and source answered (asked together). */
  repository: number;
  /** Both builds calls answered (the page and the chart's 50, asked together). */
  builds: number;
  /** The slower builds call, sent → answered, as the browser saw it. */
  buildsCall: number;
}

interface PageResult {
  label: string;
  /** First Contentful Paint, ms from navigation start. */
  fcpMs: number[];
  /** The first frame that draws a build row, ms from navigation start. */
  readyMs: number[];
  milestones: Milestones[];
}

/**
 * Runs in every page before its own scripts: notes the first animation frame after a build
 * row is in the table (that frame draws it), as ms since the navigation started.
 */
const READY_PROBE = `(() => {
  const seen = () => {
    if (!document.querySelector("main table tbody tr")) return false;
    requestAnimationFrame(() => { window.__benchReadyAt = performance.now(); });
    return true;
  };
  new MutationObserver((_, observer) => { if (seen()) observer.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();`;

function chromiumPath(): string {
  const path = process.env["SLIPWAY_TEST_CHROMIUM"] || "/usr/bin/chromium";
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install Debian's chromium, or set SLIPWAY_TEST_CHROMIUM`);
  return path;
}

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** One load of the page in a new tab (same context: signed in, HTTP cache warm). */
async function loadPage(
  context: BrowserContext,
  url: string,
): Promise<{ fcpMs: number; readyMs: number; milestones: Milestones; firstId: string | undefined; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  try {
    await page.goto(url, { waitUntil: "commit" });
    await page.locator("main table tbody tr").first().waitFor({ state: "visible", timeout: 30_000 });
    await page.waitForFunction("window.__benchReadyAt !== undefined", undefined, { timeout: 10_000 });
    const figures = await page.evaluate<{ fcp: number | null; ready: number; href: string | null; milestones: Milestones }>(`(() => {
      const resources = performance.getEntriesByType("resource");
      const of = (test) => resources.filter((e) => test(new URL(e.name).pathname));
      const end = (entries) => Math.max(0, ...entries.map((e) => e.responseEnd));
      const builds = of((p) => p.endsWith("/builds"));
      return {
        fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
        ready: window.__benchReadyAt,
        href: document.querySelector('main table tbody tr a[href^="#/b/"]')?.getAttribute("href") ?? null,
        milestones: {
          scripts: end(of((p) => p.startsWith("/ui/") && p.endsWith(".js"))),
          session: end(of((p) => p === "/api/v1/session")),
          repository: end(of((p) => p.startsWith("/api/v1/repositories/") && !p.endsWith("/builds"))),
          builds: end(builds),
          buildsCall: Math.max(0, ...builds.map((e) => e.responseEnd - e.startTime)),
        },
      };
    })()`);
    if (figures.fcp === null) throw new Error(`${url}: no first-contentful-paint entry`);
    return { fcpMs: figures.fcp, readyMs: figures.ready, milestones: figures.milestones, firstId: figures.href?.slice("#/b/".length), errors };
  } finally {
    await page.close();
  }
}

async function measurePage(browser: Browser, slipway: Slipway, seeded: Seeded, cases: readonly Case[], api: readonly ApiResult[], options: Options): Promise<PageResult[]> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    // The dashboard's sign-in: the session cookie lands in the context's jar.
    const signIn = await context.request.post(`${slipway.url}/api/v1/session`, { data: { token: slipway.adminToken } });
    if (!signIn.ok()) throw new Error(`POST /api/v1/session answered ${signIn.status()}`);
    await context.addInitScript(READY_PROBE);
    const pageCases = cases.map((c, i) => ({ c, firstId: api[i]?.firstId })).filter(({ c }) => c.page !== undefined);
    const results: PageResult[] = pageCases.map(({ c }) => ({ label: c.label, fcpMs: [], readyMs: [], milestones: [] }));
    for (let round = 0; round < PAGE_WARMUP + options.pages; round++) {
      for (const [i, { c, firstId }] of pageCases.entries()) {
        const query = c.page!.toString();
        const url = `${slipway.url}/#/r/${seeded.fullName}${query === "" ? "" : `?${query}`}`;
        const load = await loadPage(context, url);
        if (load.errors.length > 0) throw new Error(`${c.label}: the page threw: ${load.errors.join(" | ")}`);
        if (round === 0 && load.firstId !== firstId) {
          throw new Error(`${c.label}: the page's first build is ${load.firstId}, the API's ${firstId} (does the page read this URL's query?)`);
        }
        if (round >= PAGE_WARMUP) {
          results[i]!.fcpMs.push(load.fcpMs);
          results[i]!.readyMs.push(load.readyMs);
          results[i]!.milestones.push(load.milestones);
        }
      }
    }
    return results;
  } finally {
    await context.close();
  }
}

// ------------------------------------------------------------------------------------- databases

interface DatabaseRun {
  kind: string;
  apiResults: ApiResult[];
  pageResults: PageResult[] | undefined;
  pageError: string | undefined;
}

/** A database of its own on the stack's PostgreSQL server; dropped at the end. */
async function createPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `slipway_bench_${nonce()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

function printApi(results: readonly ApiResult[], kind: string): void {
  console.log(`  ${"case".padEnd(32)}${"p50".padStart(10)}${"p99".padStart(10)}${"max".padStart(10)}   query alone (median, no HTTP)`);
  for (const r of results) {
    console.log(
      `  ${r.label.padEnd(32)}${ms(percentile(r.timesMs, 50)).padStart(10)}${ms(percentile(r.timesMs, 99)).padStart(10)}` +
        `${ms(Math.max(...r.timesMs)).padStart(10)}   ${ms(r.plan.medianMs)}`,
    );
  }
  console.log(`  ${kind}'s plans of the list query (the SQL Slipway's store sends, limit ${PAGE_SIZE + 1}):`);
  for (const r of results) {
    console.log(`    ${r.label}:`);
    for (const line of r.plan.lines) console.log(`      ${line}`);
    if (r.without === undefined) continue;
    console.log(`    ${r.label}, were ${r.without.index} (migration 0005) not there: query alone ${ms(r.without.plan.medianMs)}`);
    for (const line of r.without.plan.lines) console.log(`      ${line}`);
  }
}

function printPage(results: readonly PageResult[]): void {
  console.log(`  ${"case".padEnd(32)}${"FCP p50".padStart(10)}${"FCP p99".padStart(10)}${"ready p50".padStart(11)}${"ready p99".padStart(11)}`);
  for (const r of results) {
    console.log(
      `  ${r.label.padEnd(32)}${ms(percentile(r.fcpMs, 50)).padStart(10)}${ms(percentile(r.fcpMs, 99)).padStart(10)}` +
        `${ms(percentile(r.readyMs, 50)).padStart(11)}${ms(percentile(r.readyMs, 99)).padStart(11)}`,
    );
  }
  console.log(`  where the time goes (medians, ms from navigation start): modules loaded → signed in → repository, rules, source → both builds calls → row drawn`);
  for (const r of results) {
    const m = (f: (x: Milestones) => number): string => ms(percentile(r.milestones.map(f), 50)).padStart(10);
    console.log(
      `  ${r.label.padEnd(32)}${m((x) => x.scripts)}${m((x) => x.session)}${m((x) => x.repository)}${m((x) => x.builds)}` +
        `${ms(percentile(r.readyMs, 50)).padStart(10)}   (slower builds call ${m((x) => x.buildsCall).trim()})`,
    );
  }
}

interface Running {
  slipway?: Slipway;
  db?: HistoryDatabase;
  dropDatabase?: () => Promise<void>;
  /** The SQLite database's files: a gigabyte, not left behind. */
  sqliteFiles?: string[];
}

function removeSqlite(running: Running): void {
  for (const file of running.sqliteFiles ?? []) rmSync(file, { force: true });
  delete running.sqliteFiles;
}

async function runDatabase(kind: DatabaseKind, browser: Browser, options: Options, running: Running): Promise<DatabaseRun> {
  const label = kind === "sqlite" ? "SQLite" : "PostgreSQL";
  let env: Record<string, string> = {};
  if (kind === "postgres") {
    const database = await createPostgresDatabase(requireEnv("SLIPWAY_TEST_POSTGRES_URL"));
    running.dropDatabase = database.drop;
    env = { DATABASE_URL: database.url };
  }
  running.slipway = await startSlipway({ worker: false, env });
  const slipway = running.slipway;
  const sqliteFile = join(slipway.dataDir, "slipway.db");
  if (kind === "sqlite") {
    if (!existsSync(sqliteFile)) throw new Error(`Slipway's SQLite database is not at ${sqliteFile}`);
    running.sqliteFiles = ["", "-wal", "-shm"].map((suffix) => `${sqliteFile}${suffix}`);
  }
  running.db = kind === "sqlite" ? createSqliteHistory(sqliteFile) : createPostgresHistory(env["DATABASE_URL"]!);
  const db = running.db;

  const seeded = await seed(db, slipway, options.builds);
  console.log(
    `\n${label}: ${count(seeded.inserted)} builds of ${seeded.fullName} inserted in ${seconds(seeded.insertMs)}, then ` +
      `${kind === "sqlite" ? "ANALYZE" : "VACUUM (ANALYZE), CHECKPOINT"} in ${seconds(seeded.analyzeMs)}; database ${((await db.sizeBytes()) / 2 ** 30).toFixed(2)} GiB`,
  );
  await checkCursorWalk(slipway, seeded.fullName);

  const cases = toCases(seeded.cursors);
  const apiResults = await measureApi(slipway, db, seeded, cases, options);
  console.log(`  API: GET /api/v1/repositories/${seeded.fullName}/builds?limit=${PAGE_SIZE}&…, admin token; ${options.requests} requests per case after ${options.warmup} warm-up, one at a time, cases taking turns; sent → body read`);
  printApi(apiResults, label);

  let pageResults: PageResult[] | undefined;
  let pageError: string | undefined;
  try {
    pageResults = await measurePage(browser, slipway, seeded, cases, apiResults, options);
    console.log(`  page: /#/r/${seeded.fullName}?…, signed in; ${options.pages} loads per case after ${PAGE_WARMUP} warm-up, each in a new tab, cases taking turns; ms from navigation start`);
    printPage(pageResults);
  } catch (err) {
    // The API's figures stand; the run still ends in failure.
    pageError = (err as Error).message;
    console.log(`  page: not measured: ${pageError}`);
  }

  await db.close();
  delete running.db;
  await slipway.stop();
  delete running.slipway;
  removeSqlite(running);
  await running.dropDatabase?.();
  delete running.dropDatabase;
  return { kind: label, apiResults, pageResults, pageError };
}

// ---------------------------------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  for (const name of ["REDIS_URL", "DOCKER_HOST", "SLIPWAY_REGISTRY"]) requireEnv(name);
  if (options.databases.includes("postgres")) requireEnv("SLIPWAY_TEST_POSTGRES_URL");

  const running: Running = {};
  let browser: Browser | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Every step runs even when one before it fails: a database left behind is worse than a message.
      const steps: [string, () => unknown][] = [
        ["close the database connection", () => running.db?.close()],
        ["stop Slipway", () => running.slipway?.stop()],
        ["remove the SQLite database", () => removeSqlite(running)],
        ["drop the PostgreSQL database", () => running.dropDatabase?.()],
        ["close the browser", () => browser?.close()],
      ];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (err) {
          console.error(`history bench: could not ${what}: ${(err as Error).message}`);
        }
      }
    })());
  // Ctrl-C reaches this process too: stop Slipway and drop the database before leaving.
  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    console.log(`history: one repository with ${count(options.builds)} builds, on ${options.databases.join(" then ")}; the builds API and the dashboard's repository page`);
    console.log(`  builds: UUIDv7 ids about a minute apart (${Math.round((options.builds * 60) / 86_400 / 365 * 10) / 10} years), 90 % success, 6.5 % failed, 2.5 % canceled, a few superseded and timed out;`);
    console.log(`  branches main 55 %, develop 25 %, release-1.N 17 %, tags v1.N.P 3 %, and ${RARE_BRANCH} 0.05 % (the rare one of the filtered case)`);
    browser = await launchBrowser();
    const runs: DatabaseRun[] = [];
    for (const kind of options.databases) runs.push(await runDatabase(kind, browser, options, running));

    console.log("");
    for (const run of runs) {
      const worst = run.apiResults.reduce((a, b) => (percentile(b.timesMs, 99) > percentile(a.timesMs, 99) ? b : a));
      const p99 = percentile(worst.timesMs, 99);
      console.log(`goal API p99 ≤ ${GOALS.apiP99Ms} ms, ${run.kind}: worst ${ms(p99)} (${worst.label}) (${verdict(p99 <= GOALS.apiP99Ms)})`);
    }
    for (const run of runs) {
      if (run.pageResults === undefined) {
        console.log(`goal page first paint p99 ≤ ${GOALS.pageP99Ms} ms, ${run.kind}: not measured (${run.pageError})`);
        continue;
      }
      const worstOf = (f: (r: PageResult) => number[]): { p99: number; label: string } =>
        run.pageResults!.map((r) => ({ p99: percentile(f(r), 99), label: r.label })).reduce((a, b) => (b.p99 > a.p99 ? b : a));
      const fcp = worstOf((r) => r.fcpMs);
      const ready = worstOf((r) => r.readyMs);
      console.log(`goal page first paint p99 ≤ ${GOALS.pageP99Ms} ms, ${run.kind}: worst FCP ${ms(fcp.p99)} (${fcp.label}) (${verdict(fcp.p99 <= GOALS.pageP99Ms)})`);
      console.log(`goal page ready p99 ≤ ${GOALS.pageP99Ms} ms (the stricter reading: first build row drawn), ${run.kind}: worst ${ms(ready.p99)} (${ready.label}) (${verdict(ready.p99 <= GOALS.pageP99Ms)})`);
    }
    return runs.some((r) => r.pageError !== undefined) ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stop();
  }
}

await runBenchmark("history", main);
