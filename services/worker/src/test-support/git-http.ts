import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A git server over smart HTTP for tests: node:http in front of `git http-backend` (CGI), serving
 * bare repositories from a temporary folder. Test-only; to be swapped for test/'s shared git server.
 */
export interface GitHttpServer {
  /** The clone URL of a repository (no credentials in it). */
  url(name: string): string;
  createRepo(name: string): Promise<TestRepo>;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** Require HTTP Basic with these credentials. */
  auth?: { username: string; password: string };
  /**
   * Speak protocol v2 when the client asks (git's default). With v0 the server refuses to send a
   * commit by id unless it is a branch or tag head, as many hosted servers do.
   */
  protocolV2?: boolean;
}

/** A file's content, or a symlink to a target. */
export type TestFile = string | { symlink: string };

export interface TestRepo {
  name: string;
  /** Commits these files (on top of the previous commit's) to main and pushes; returns the commit id. */
  commit(files: Record<string, TestFile>, message: string): Promise<string>;
  /** Commits `count` empty commits to main and pushes; returns the last id. */
  commitEmpty(count: number, message: string): Promise<string>;
}

const GIT_ENV = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Slipway Test",
  GIT_AUTHOR_EMAIL: "test@slipway.invalid",
  GIT_COMMITTER_NAME: "Slipway Test",
  GIT_COMMITTER_EMAIL: "test@slipway.invalid",
  // Fixed dates: the same commits made on two servers get the same ids.
  GIT_AUTHOR_DATE: "2025-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2025-01-01T00:00:00Z",
  LC_ALL: "C",
};

export async function startGitHttpServer(options: GitHttpServerOptions = {}): Promise<GitHttpServer> {
  const root = await mkdtemp(path.join(tmpdir(), "slipway-git-"));
  const projects = path.join(root, "repos");
  await mkdir(projects);
  const env = { ...GIT_ENV, HOME: root };

  const server = createServer((req, res) => {
    if (options.auth !== undefined && !isAuthorized(req, options.auth)) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end("authentication required\n");
      return;
    }
    serveCgi(req, res, { ...env, GIT_PROJECT_ROOT: projects }, options.protocolV2 ?? true);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    async createRepo(name) {
      const bare = path.join(projects, `${name}.git`);
      const work = path.join(root, "work", name);
      await run("git", ["init", "-q", "--bare", bare], { env });
      await run("git", ["init", "-q", "-b", "main", work], { env });
      const git = async (...args: string[]) => (await run("git", args, { cwd: work, env })).stdout.trim();
      const push = async () => {
        await git("push", "-q", bare, "HEAD:refs/heads/main");
        return git("rev-parse", "HEAD");
      };
      return {
        name,
        async commit(files, message) {
          for (const [file, content] of Object.entries(files)) {
            const target = path.join(work, file);
            await mkdir(path.dirname(target), { recursive: true });
            await rm(target, { force: true });
            if (typeof content === "string") await writeFile(target, content);
            else await symlink(content.symlink, target);
          }
          await git("add", "-A");
          await git("commit", "-q", "--allow-empty", "-m", message);
          return push();
        },
        async commitEmpty(count, message) {
          for (let i = 0; i < count; i++) await git("commit", "-q", "--allow-empty", "-m", `${message} ${i + 1}`);
          return push();
        },
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

function isAuthorized(req: IncomingMessage, auth: { username: string; password: string }): boolean {
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  return req.headers.authorization === expected;
}

function serveCgi(req: IncomingMessage, res: ServerResponse, baseEnv: Record<string, string>, protocolV2: boolean): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const protocol = req.headers["git-protocol"];
  const child = spawn("git", ["http-backend"], {
    env: {
      ...baseEnv,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      REMOTE_ADDR: "127.0.0.1",
      ...(protocolV2 && typeof protocol === "string" ? { GIT_PROTOCOL: protocol } : {}),
    },
  });
  req.pipe(child.stdin);
  child.stderr.resume();

  // CGI output: headers, a blank line, then the body.
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  child.on("close", () => {
    if (!headersDone) res.writeHead(500);
    res.end();
  });
  child.on("error", (err) => {
    res.destroy(err);
  });
}
