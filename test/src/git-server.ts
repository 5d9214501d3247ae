import { execFile, spawn, type ChildProcess } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface GitServerOptions {
  /** Folder that holds the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** username → password, for HTTP Basic. */
  users?: Readonly<Record<string, string>>;
}

export interface CreateRepoOptions {
  /** Every request to it, clone included, needs HTTP Basic with one of the users. */
  private?: boolean;
}

export type FileContent = string | { content: string; mode?: number };

export interface CommitOptions {
  /** Default "main". Created from the default branch (or as the first) when missing. */
  branch?: string;
  /** Also tag the commit (moving the tag when it exists). */
  tag?: string;
  /** An annotated tag (a tag object) rather than a lightweight one. */
  annotated?: boolean;
  message?: string;
}

export interface CommitResult {
  commit: string;
  /** The tag object's id, for an annotated tag. */
  tagObject?: string;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  createRepo(name: string, options?: CreateRepoOptions): Promise<{ url: string; dir: string }>;
  /** Commits `files` (path → content) on top of the branch and pushes it, and the tag. */
  commitAndPush(name: string, files: Readonly<Record<string, FileContent>>, options?: CommitOptions): Promise<CommitResult>;
  /** The clone URL, `http://127.0.0.1:<port>/<name>.git`. */
  url(name: string): string;
  close(): Promise<void>;
}

/** Git run with no system or user configuration: a signing or hook setting of the machine must not apply. */
export const isolatedGitEnv: Readonly<Record<string, string>> = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  GIT_AUTHOR_NAME: "Slipway Test",
  GIT_AUTHOR_EMAIL: "test@slipway.invalid",
  GIT_COMMITTER_NAME: "Slipway Test",
  GIT_COMMITTER_EMAIL: "test@slipway.invalid",
};

async function git(args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, {
      ...(cwd === undefined ? {} : { cwd }),
      env: { ...process.env, ...isolatedGitEnv },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args[0] ?? ""} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Names may hold `/` (nested namespaces); no segment may climb out of the root. */
function checkName(name: string): void {
  const ok = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) && !name.split("/").some((s) => s === "." || s === "..");
  if (!ok) throw new Error(`git server: invalid repository name ${JSON.stringify(name)}`);
}

function checkPath(path: string): void {
  if (path.startsWith("/") || path.split("/").some((s) => s === "" || s === "." || s === ".." || s === ".git")) {
    throw new Error(`git server: invalid file path ${JSON.stringify(path)}`);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The user a Basic Authorization header proves, null when it proves none, undefined when absent. */
function authenticate(header: string | undefined, users: Readonly<Record<string, string>>): string | null | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const username = decoded.slice(0, colon);
  const expected = users[username];
  return expected !== undefined && sameSecret(decoded.slice(colon + 1), expected) ? username : null;
}

/**
 * Relays one request to `git http-backend` (CGI): request body in, CGI headers (with
 * `Status:`) parsed off the output, the rest streamed back.
 */
function runBackend(req: IncomingMessage, res: ServerResponse, root: string, pathInfo: string, query: string, remoteUser: string): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    ...isolatedGitEnv,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: pathInfo,
    REQUEST_METHOD: req.method ?? "GET",
    QUERY_STRING: query,
    REMOTE_USER: remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    ...(req.headers["content-type"] === undefined ? {} : { CONTENT_TYPE: req.headers["content-type"] }),
    ...(req.headers["content-length"] === undefined ? {} : { CONTENT_LENGTH: req.headers["content-length"] }),
    // Protocol v2 is asked for in this header; without it the backend speaks v0.
    ...(req.headers["git-protocol"] === undefined ? {} : { GIT_PROTOCOL: String(req.headers["git-protocol"]) }),
    // Git gzips large upload-pack requests.
    ...(req.headers["content-encoding"] === undefined ? {} : { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] }),
  };
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => {
    // The backend may exit before reading all of a body it refuses; its answer says why.
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString("utf8");
  });
  let head: Buffer = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once("drain", () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString("latin1");
    const crlf = text.indexOf("\r\n\r\n");
    const lf = text.indexOf("\n\n");
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    let status = 200;
    for (const line of text.slice(0, end).split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else res.appendHeader(name, value);
    }
    res.statusCode = status;
    headersSent = true;
    res.write(head.subarray(end));
  });
  child.on("close", (code) => {
    if (!headersSent) {
      res.statusCode = 500;
      res.setHeader("Content-Type", "text/plain");
      res.end(`git http-backend exited with ${code}: ${stderr}`);
    } else {
      res.end();
    }
  });
  res.on("close", () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  return child;
}

/**
 * A git server over HTTP for tests: `git http-backend` behind node:http on 127.0.0.1,
 * smart protocol v0 and v2, push enabled, HTTP Basic for private repositories.
 */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const root = options.root;
  const users = options.users ?? {};
  const privateRepos = new Set<string>();
  const backends = new Set<ChildProcess>();
  /** Pushes to one repository run one after another (a second would not fast-forward). */
  const queues = new Map<string, Promise<unknown>>();
  await mkdir(root, { recursive: true });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let pathInfo: string;
    try {
      pathInfo = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end("bad path\n");
      return;
    }
    const repo = /^\/(.+?)\.git(\/|$)/.exec(pathInfo)?.[1];
    if (repo === undefined || pathInfo.split("/").includes("..")) {
      res.writeHead(404).end("not found\n");
      return;
    }
    const user = authenticate(req.headers.authorization, users);
    if (user === null || (user === undefined && privateRepos.has(repo))) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="slipway test git"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    const child = runBackend(req, res, root, pathInfo, url.search.slice(1), user ?? "");
    backends.add(child);
    child.on("close", () => backends.delete(child));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const repoUrl = (name: string): string => `${baseUrl}/${name}.git`;
  const repoDir = (name: string): string => join(root, `${name}.git`);

  const commitAndPushNow = async (name: string, files: Readonly<Record<string, FileContent>>, opts: CommitOptions): Promise<CommitResult> => {
    const branch = opts.branch ?? "main";
    const message = opts.message ?? `Commit to ${branch}`;
    const work = await mkdtemp(join(tmpdir(), "slipway-git-work-"));
    try {
      // Through the folder, not HTTP: works for private repositories without credentials.
      await git(["clone", "--quiet", repoDir(name), work]);
      if ((await git(["branch", "--remotes", "--list", `origin/${branch}`], work)) !== "") {
        await git(["checkout", "--quiet", "-B", branch, `origin/${branch}`], work);
      } else if ((await git(["rev-parse", "--verify", "--quiet", "HEAD"], work).catch(() => "")) !== "") {
        await git(["checkout", "--quiet", "-b", branch], work);
      } else {
        await git(["symbolic-ref", "HEAD", `refs/heads/${branch}`], work);
      }
      for (const [path, file] of Object.entries(files)) {
        checkPath(path);
        const full = join(work, path);
        await mkdir(dirname(full), { recursive: true });
        const { content, mode } = typeof file === "string" ? { content: file, mode: undefined } : file;
        await writeFile(full, content);
        await chmod(full, mode ?? 0o644);
      }
      await git(["add", "--all"], work);
      await git(["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message], work);
      const commit = await git(["rev-parse", "HEAD"], work);
      await git(["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`], work);
      if (opts.tag === undefined) return { commit };
      await git(["tag", "--force", ...(opts.annotated ? ["-a", "-m", message] : []), opts.tag], work);
      await git(["push", "--quiet", "--force", "origin", `refs/tags/${opts.tag}`], work);
      return opts.annotated ? { commit, tagObject: await git(["rev-parse", `refs/tags/${opts.tag}`], work) } : { commit };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };

  return {
    baseUrl,
    url: repoUrl,
    async createRepo(name, opts = {}) {
      checkName(name);
      const dir = repoDir(name);
      await mkdir(dirname(dir), { recursive: true });
      await git(["init", "--quiet", "--bare", "--initial-branch=main", dir]);
      // Anonymous pushes too: http-backend allows receive-pack without REMOTE_USER only when told.
      await git(["config", "http.receivepack", "true"], dir);
      if (opts.private) privateRepos.add(name);
      else privateRepos.delete(name);
      return { url: repoUrl(name), dir };
    },
    commitAndPush(name, files, opts = {}) {
      checkName(name);
      const previous = queues.get(name) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(() => commitAndPushNow(name, files, opts));
      queues.set(name, next);
      return next;
    },
    async close() {
      for (const child of backends) child.kill("SIGTERM");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
