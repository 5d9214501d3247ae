import { lstat, mkdir, mkdtemp, readdir, readlink, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import { simpleGit } from "simple-git";
import { SlipwayError } from "@slipway/core";

export interface CheckoutRequest {
  /** The source's configured clone URL (http or https). Userinfo in it is treated as credentials. */
  cloneUrl: string;
  /** The exact commit to build, 40 hex digits; empty for the ref's current head. */
  commit: string;
  /** The ref the commit was pushed to ("refs/heads/main", "refs/tags/v1"); fetched when the server refuses fetch-by-id. */
  ref: string;
  credentials?: { username?: string; password: string };
}

export interface CheckoutResult {
  /** The working tree, checked out detached at the commit. */
  dir: string;
  /** The commit checked out: the request's, or the ref's head when the request named none. */
  commit: string;
  commitMessage: string;
  /** The commit's committer date (ISO 8601, UTC): which of two commits is the newer. */
  committedAt: string;
  /** Removes everything this checkout wrote. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface SourceCheckout {
  checkout(request: CheckoutRequest, signal: AbortSignal): Promise<CheckoutResult>;
}

export interface GitCheckoutOptions {
  /** Folder under which each checkout gets its own fresh folder. */
  workDir: string;
  /** Human progress lines for the build log. Never receives credentials. */
  log: (line: string) => void;
  /** Whole-checkout time limit; default 10 minutes. */
  timeoutMs?: number;
}

/** Username sent with a token when the source has none (GitHub's convention; GitLab and Gitea accept any). */
const TOKEN_USERNAME = "x-access-token";
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Depths tried, in order, when the server refuses to fetch a commit by its id. */
const FALLBACK_DEPTHS = [50, 500] as const;
/** Environment passed through to git: only what finding git, proxies and CA certificates need. */
const PASSED_ENV = [
  "PATH",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "ALL_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "GIT_SSL_CAINFO",
] as const;

export function createGitCheckout(options: GitCheckoutOptions): SourceCheckout {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async checkout(request, signal) {
      signal.throwIfAborted();
      const target = toCloneTarget(request);
      await mkdir(options.workDir, { recursive: true });
      const root = await mkdtemp(path.join(options.workDir, "checkout-"));
      const cleanup = () => rm(root, { recursive: true, force: true });
      try {
        return { ...(await runCheckout(root, target, request, options.log, signal, timeoutMs)), cleanup };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  };
}

interface CloneTarget {
  /** The URL git is given and people are shown: never with userinfo. */
  url: string;
  authorization: string | undefined;
  /** Strings that must never appear in anything this module prints or throws. */
  secrets: string[];
}

function toCloneTarget(request: CheckoutRequest): CloneTarget {
  if (request.commit !== "" && !/^[0-9a-f]{40}$/.test(request.commit)) {
    throw new SlipwayError("commit_not_found", `"${request.commit.slice(0, 64)}" is not a full commit id (40 hex digits)`);
  }
  // Also keeps the ref from ever reading as an option to git.
  if (!/^refs\/(heads|tags)\/[^\s~^:?*[\\]+$/.test(request.ref) || request.ref.includes("..") || request.ref.endsWith("/")) {
    throw new SlipwayError("clone_failed", `"${request.ref.slice(0, 200)}" is not a branch or tag ref`);
  }
  let parsed: URL;
  try {
    parsed = new URL(request.cloneUrl);
  } catch (err) {
    throw new SlipwayError("clone_failed", `the clone URL ${stripUserinfo(request.cloneUrl)} is not a valid URL: check the source's clone URL`, { cause: err });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new SlipwayError("clone_failed", `the clone URL ${stripUserinfo(request.cloneUrl)} is not an http(s) URL: Slipway clones over HTTPS`);
  }
  // Userinfo in a configured URL is a credential like any other: it moves to the header.
  // "https://<token>@host/x.git" (a token as the username) is common, so a lone username counts too.
  const fromUrl =
    parsed.username !== "" || parsed.password !== "" ? { username: safeDecode(parsed.username), password: safeDecode(parsed.password) } : undefined;
  parsed.username = "";
  parsed.password = "";
  const url = parsed.toString();
  const credentials = request.credentials ?? fromUrl;
  if (credentials === undefined) return { url, authorization: undefined, secrets: [] };
  const username = credentials.username !== undefined && credentials.username !== "" ? credentials.username : TOKEN_USERNAME;
  const encoded = Buffer.from(`${username}:${credentials.password}`).toString("base64");
  const secrets = [credentials.password, encodeURIComponent(credentials.password), encoded];
  if (credentials.password === "") secrets.push(username, encodeURIComponent(username));
  return { url, authorization: `Basic ${encoded}`, secrets: secrets.filter((secret) => secret.length >= 4) };
}

function safeDecode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch (err) {
    // Not valid percent-encoding: git would have sent it as written, so do the same.
    if (err instanceof URIError) return component;
    throw err;
  }
}

async function runCheckout(
  root: string,
  target: CloneTarget,
  request: CheckoutRequest,
  log: (line: string) => void,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ dir: string; commit: string; commitMessage: string; committedAt: string }> {
  const dir = path.join(root, "src");
  await mkdir(dir);
  const timeout = AbortSignal.timeout(timeoutMs);
  const git = simpleGit({
    baseDir: dir,
    abort: AbortSignal.any([signal, timeout]),
    maxConcurrentProcesses: 1,
    // The only environment-count config set is our own http.extraHeader (see toGitEnv).
    unsafe: { allowUnsafeConfigEnvCount: true },
  }).env(toGitEnv(root, target.authorization));
  const short = request.commit.slice(0, 7);

  const run = async (args: string[]): Promise<GitOutcome> => {
    try {
      return { ok: true, stdout: await git.raw(args) };
    } catch (err) {
      if (signal.aborted || timeout.aborted) await stopStragglers(root);
      if (signal.aborted) throw toAbortError(signal);
      if (timeout.aborted) {
        throw new SlipwayError("clone_failed", `could not clone ${target.url}: git took longer than ${Math.round(timeoutMs / 1000)} s`);
      }
      return { ok: false, stderr: redact(err instanceof Error ? err.message : String(err), target.secrets) };
    }
  };
  const must = async (args: string[]): Promise<string> => {
    const outcome = await run(args);
    if (!outcome.ok) throw toCloneError(target.url, outcome.stderr);
    return outcome.stdout;
  };

  log(request.commit === "" ? `Cloning ${target.url} at the head of ${request.ref}` : `Cloning ${target.url} at ${short} (${request.ref})`);
  // No command here runs quiet (-q): simple-git waits 50 ms after any git command that prints
  // nothing before it believes it ended, which would cost every build a fifth of a second.
  await must(["init"]);
  const commit = request.commit === "" ? await fetchHead(run, must, target, request.ref) : await fetchCommit(run, must, target, request, log);

  await must(["-c", "advice.detachedHead=false", "checkout", "--detach", commit]);
  const [time, ...message] = (await must(["log", "-1", "--format=%ct%n%B", commit])).split("\n");
  const commitMessage = message.join("\n").trimEnd();
  const committedAt = new Date(Number(time) * 1000).toISOString();
  log(`Checked out ${commit.slice(0, 7)}: ${commitMessage.split("\n", 1)[0] ?? ""}`);
  return { dir, commit, commitMessage, committedAt };
}

type GitOutcome = { ok: true; stdout: string } | { ok: false; stderr: string };
type GitRun = (args: string[]) => Promise<GitOutcome>;

/** Fetches the ref's current head; returns its commit. */
async function fetchHead(run: GitRun, must: (args: string[]) => Promise<string>, target: CloneTarget, ref: string): Promise<string> {
  const fetched = await run(["fetch", "--no-tags", "--depth", "1", target.url, ref]);
  if (!fetched.ok) {
    if (isMissingRef(fetched.stderr)) throw new SlipwayError("commit_not_found", `${ref} does not exist in ${target.url}`);
    throw toCloneError(target.url, fetched.stderr);
  }
  return (await must(["rev-parse", "--verify", "FETCH_HEAD^{commit}"])).trim();
}

/**
 * Fetches exactly the commit. Servers that refuse a commit by id (protocol v0 without
 * uploadpack.allowReachableSHA1InWant) get the ref, shallow, deepened once before giving up.
 */
async function fetchCommit(
  run: GitRun,
  must: (args: string[]) => Promise<string>,
  target: CloneTarget,
  request: CheckoutRequest,
  log: (line: string) => void,
): Promise<string> {
  const short = request.commit.slice(0, 7);
  const bySha = await run(["fetch", "--no-tags", "--depth", "1", target.url, request.commit]);
  // A forge may name an annotated tag's object rather than its commit (Bitbucket Data Center):
  // the commit is what gets built and recorded.
  if (bySha.ok) return (await must(["rev-parse", "--verify", `${request.commit}^{commit}`])).trim();
  // Auth, reachability and missing repositories fail the same way for any fetch: no point trying the ref.
  if (classifyGitFailure(bySha.stderr) !== "other") throw toCloneError(target.url, bySha.stderr);
  log(`The server would not send ${short} by its id; fetching ${request.ref} instead`);

  for (const depth of FALLBACK_DEPTHS) {
    const fetched = await run(["fetch", "--no-tags", "--depth", String(depth), target.url, request.ref]);
    if (!fetched.ok) {
      if (isMissingRef(fetched.stderr)) {
        throw new SlipwayError(
          "commit_not_found",
          `commit ${short} could not be fetched from ${target.url}: the server does not send commits by id and ${request.ref} no longer exists`,
        );
      }
      throw toCloneError(target.url, fetched.stderr);
    }
    // Not --quiet: simple-git takes a failing git command that prints nothing for a success.
    const peeled = await run(["rev-parse", "--verify", `${request.commit}^{commit}`]);
    if (peeled.ok && peeled.stdout.trim() !== "") return peeled.stdout.trim();
    log(`${short} is not within the last ${depth} commits of ${request.ref}`);
  }
  throw new SlipwayError(
    "commit_not_found",
    `commit ${short} was not found in ${target.url}: it is not among the last ${FALLBACK_DEPTHS.at(-1)} commits of ${request.ref} (was the branch force-pushed?)`,
  );
}

function isMissingRef(stderr: string): boolean {
  return /couldn't find remote ref|no such remote ref|invalid refspec/i.test(stderr);
}

/**
 * simple-git's abort kills `git` itself; git's HTTP helper (`git remote-http`) can outlive it, waiting on
 * a server that does not answer. Every process working inside this checkout's folder is ours: stop them.
 * Linux only (/proc); elsewhere the helper ends by itself at the low-speed limit.
 */
async function stopStragglers(root: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return;
    throw err;
  }
  const realRoot = await realpath(root);
  for (const pid of entries.filter((entry) => /^\d+$/.test(entry))) {
    // Processes come and go, and other users' are not readable: either way not ours.
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (cwd === undefined || !isInside(realRoot, cwd)) continue;
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch (err) {
      if (!isErrno(err, "ESRCH")) throw err;
    }
  }
}

function toGitEnv(home: string, authorization: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    // A private HOME and no system config: no operator credential helpers, LFS filters or hooks templates
    // apply to a repository a user configured, and error messages stay the same on every machine.
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ALLOW_PROTOCOL: "http:https",
    // Stalled transfers fail instead of hanging until the overall timeout.
    GIT_HTTP_LOW_SPEED_LIMIT: "1000",
    GIT_HTTP_LOW_SPEED_TIME: "60",
    LC_ALL: "C",
    LANG: "C",
  };
  for (const name of PASSED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  if (authorization !== undefined) {
    // Through the environment only: never in argv (visible in ps), the URL or .git/config.
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: ${authorization}`;
  }
  return env;
}

type GitFailure = "auth" | "not_found" | "unreachable" | "other";

const FAILURE_PATTERNS: ReadonlyArray<readonly [GitFailure, RegExp]> = [
  ["auth", /authentication failed|could not read (username|password)|terminal prompts disabled|access denied|returned error: 40[13]\b|invalid credentials|HTTP Basic/i],
  ["not_found", /repository not found|repository '[^']*' not found|not appear to be a git repository|not a git repository|returned error: 404\b|\/info\/refs not valid/i],
  [
    "unreachable",
    /could not resolve host|failed to connect|connection refused|couldn't connect|connection timed out|operation timed out|timed out after|network is unreachable|no route to host|SSL certificate problem|SSL_connect|gnutls|TLS|returned error: 5\d\d\b|empty reply from server|connection reset|transfer closed|early EOF|unexpected disconnect|transport '.*' not allowed/i,
  ],
];

function classifyGitFailure(stderr: string): GitFailure {
  for (const [kind, pattern] of FAILURE_PATTERNS) {
    if (pattern.test(stderr)) return kind;
  }
  return "other";
}

function toCloneError(shownUrl: string, stderr: string): SlipwayError {
  const kind = classifyGitFailure(stderr);
  const detail = lastMeaningfulLine(stderr);
  switch (kind) {
    case "auth":
      return new SlipwayError("clone_failed", `could not clone ${shownUrl}: authentication failed — check the source's credentials`);
    case "not_found":
      return new SlipwayError(
        "clone_failed",
        `could not clone ${shownUrl}: repository not found — check the source's clone URL (and its credentials, if the repository is private)`,
      );
    case "unreachable":
      return new SlipwayError("clone_failed", `could not clone ${shownUrl}: the server could not be reached (${detail}) — check the clone URL and the network`);
    case "other":
      return new SlipwayError("clone_failed", `could not clone ${shownUrl}: ${detail}`);
  }
}

function lastMeaningfulLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.replace(/^(fatal|error): /, "").trim())
    .filter((line) => line !== "");
  return (lines.at(-1) ?? "git failed").slice(0, 300);
}

/** Removes userinfo from every URL in `text`, then masks each secret. */
function redact(text: string, secrets: readonly string[]): string {
  let out = stripUserinfo(text);
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

function stripUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, "$1");
}

function toAbortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException(typeof reason === "string" ? reason : "The checkout was aborted", "AbortError");
}

export interface BuildPaths {
  /** Absolute, symlinks resolved; what is sent to the engine. */
  contextDir: string;
  /** Relative to contextDir, posix separators. */
  dockerfilePath: string;
}

/**
 * Where to build from, as Docker Hub reads a rule: a context of "/" is the repository root and the
 * Dockerfile location is relative to the context; an empty context means the Dockerfile's own folder,
 * the location then being relative to the root. Nothing may lead outside the clone, through ".." or
 * through symlinks, and the Dockerfile must lie inside the context (the engine only sees the context).
 */
export async function resolveBuildPaths(cloneDir: string, context: string, dockerfile: string, commit?: string): Promise<BuildPaths> {
  const where = commit === undefined ? "the repository" : commit.slice(0, 7);
  const dockerfileLocation = trimSlashes(dockerfile) === "" ? "Dockerfile" : trimSlashes(dockerfile);
  const contextRel = trimSlashes(context) === "" ? "" : toInsideClone(trimSlashes(context), "build context");
  // Empty context: the Dockerfile's folder. "/" and anything else: as given.
  const dockerfileFromRoot =
    context.trim() === "" ? toInsideClone(dockerfileLocation, "Dockerfile location") : toInsideClone(path.posix.join(contextRel, dockerfileLocation), "Dockerfile location");
  const contextFromRoot = context.trim() === "" ? path.posix.dirname(dockerfileFromRoot).replace(/^\.$/, "") : contextRel;

  const root = await realpath(cloneDir);
  const contextDir = await realpathInside(root, contextFromRoot, () => {
    throw new SlipwayError("dockerfile_not_found", `no build context folder ${contextFromRoot} in ${where}: check the build rule's build context`);
  });
  if (!(await stat(contextDir)).isDirectory()) {
    throw new SlipwayError("dockerfile_not_found", `the build context ${contextFromRoot} in ${where} is not a folder: check the build rule's build context`);
  }
  const notFound = (): never => {
    throw new SlipwayError("dockerfile_not_found", `no Dockerfile at ${dockerfileFromRoot} in ${where}: check the build rule's Dockerfile location`);
  };
  const dockerfileReal = await realpathInside(root, dockerfileFromRoot, notFound);
  if (!(await stat(dockerfileReal)).isFile()) notFound();
  if (!isInside(contextDir, dockerfileReal)) {
    throw new SlipwayError(
      "path_outside_clone",
      `the Dockerfile ${dockerfileFromRoot} leads outside the build context ${contextFromRoot === "" ? "/" : contextFromRoot}: check the build rule's Dockerfile location`,
    );
  }
  return { contextDir, dockerfilePath: path.relative(contextDir, dockerfileReal).split(path.sep).join("/") };
}

function trimSlashes(value: string): string {
  return value.trim().replace(/\\/g, "/").replace(/^\/+|\/+$/g, "");
}

/** Lexical check first, so "../x" is refused even when it happens to exist. */
function toInsideClone(relative: string, what: string): string {
  const normal = path.posix.normalize(relative);
  if (normal === ".." || normal.startsWith("../") || path.posix.isAbsolute(normal) || normal.includes("\0")) {
    throw new SlipwayError("path_outside_clone", `the ${what} ${relative} leads outside the repository: use a path inside it`);
  }
  return normal === "." ? "" : normal;
}

async function realpathInside(root: string, relative: string, onMissing: () => never): Promise<string> {
  const joined = path.join(root, relative);
  let real: string;
  try {
    real = await realpath(joined);
  } catch (err) {
    if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) {
      if (await isSymlinkOutside(root, joined)) throw outsideClone(relative);
      onMissing();
    }
    if (isErrno(err, "ELOOP")) throw outsideClone(relative);
    throw err;
  }
  if (!isInside(root, real)) throw outsideClone(relative);
  return real;
}

/** A dangling symlink is missing too, unless it points outside: then say so. */
async function isSymlinkOutside(root: string, joined: string): Promise<boolean> {
  let target: string;
  try {
    if (!(await lstat(joined)).isSymbolicLink()) return false;
    target = await readlink(joined);
  } catch (err) {
    if (isErrno(err, "ENOENT") || isErrno(err, "ENOTDIR")) return false;
    throw err;
  }
  return !isInside(root, path.resolve(path.dirname(joined), target));
}

function outsideClone(relative: string): SlipwayError {
  return new SlipwayError("path_outside_clone", `${relative} is a symlink that leads outside the repository: builds only use files inside it`);
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
