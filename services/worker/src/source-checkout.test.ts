import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isSlipwayError, type ErrorCode } from "@slipway/core";
import { createGitCheckout, resolveBuildPaths, type CheckoutRequest, type CheckoutResult } from "./source-checkout.js";
import { startGitHttpServer, type GitHttpServer } from "./test-support/git-http.js";

const PASSWORD = "s3cret-Pa55word-never-shown";
const never = new AbortController().signal;

function expectCode(code: ErrorCode, check?: (message: string) => void) {
  return (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err.message);
    return true;
  };
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** git processes (the HTTP helper outlives a killed `git fetch`) still connected to a port. */
async function gitProcessesTalkingTo(port: number): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((entry) => /^\d+$/.test(entry))) {
    const args = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (args.includes("git") && args.includes(`127.0.0.1:${port}/`)) found.push(args.replace(/\0/g, " "));
  }
  return found;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("createGitCheckout", () => {
  let workDir: string;
  let v2: GitHttpServer;
  let v0: GitHttpServer;
  let privateServer: GitHttpServer;
  const logs: string[] = [];
  const results: CheckoutResult[] = [];
  const commits: { first: string; second: string; deep: string; privateHead: string } = { first: "", second: "", deep: "", privateHead: "" };

  const checkout = async (request: CheckoutRequest, options: { timeoutMs?: number; signal?: AbortSignal } = {}) => {
    const result = await createGitCheckout({
      workDir,
      log: (line) => logs.push(line),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }).checkout(request, options.signal ?? never);
    results.push(result);
    return result;
  };

  before(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), "slipway-checkout-"));
    v2 = await startGitHttpServer({ protocolV2: true });
    v0 = await startGitHttpServer({ protocolV2: false });
    privateServer = await startGitHttpServer({ auth: { username: "alice", password: PASSWORD } });
    for (const server of [v2, v0]) {
      const repo = await server.createRepo("hello");
      commits.first = await repo.commit({ "Dockerfile": "FROM scratch\n", "version.txt": "one\n" }, "First commit\n\nWith a body.");
      commits.second = await repo.commit({ "version.txt": "two\n" }, "Second commit");
      const deep = await server.createRepo("deep");
      commits.deep = await deep.commit({ "version.txt": "deep\n" }, "Deep commit");
      await deep.commitEmpty(60, "Filler");
    }
    const secret = await privateServer.createRepo("secret");
    commits.privateHead = await secret.commit({ "version.txt": "private\n" }, "Private commit");
  });

  after(async () => {
    await Promise.all(results.map((r) => r.cleanup()));
    await Promise.all([v2.close(), v0.close(), privateServer.close()]);
    await rm(workDir, { recursive: true, force: true });
  });

  for (const [name, server] of [
    ["v2 server, fetched by id", () => v2],
    ["v0 server, through the ref", () => v0],
  ] as const) {
    it(`checks out an exact commit that is not the branch head (${name})`, async () => {
      const result = await checkout({ cloneUrl: server().url("hello"), commit: commits.first, ref: "refs/heads/main" });
      assert.equal(await readFile(path.join(result.dir, "version.txt"), "utf8"), "one\n");
      assert.equal(result.commit, commits.first);
      assert.equal(result.commitMessage, "First commit\n\nWith a body.");
    });
  }

  it("falls back to the ref on a server that refuses commits by id, and says so", async () => {
    logs.length = 0;
    await checkout({ cloneUrl: v0.url("hello"), commit: commits.first, ref: "refs/heads/main" });
    assert.ok(logs.some((l) => l.includes("would not send")), logs.join("\n"));
  });

  it("deepens once when the commit is older than the first fallback depth", async () => {
    logs.length = 0;
    const result = await checkout({ cloneUrl: v0.url("deep"), commit: commits.deep, ref: "refs/heads/main" });
    assert.equal(await readFile(path.join(result.dir, "version.txt"), "utf8"), "deep\n");
    assert.ok(logs.some((l) => l.includes("not within the last 50 commits")), logs.join("\n"));
  });

  it("checks out the ref's head when no commit is given", async () => {
    const result = await checkout({ cloneUrl: v2.url("hello"), commit: "", ref: "refs/heads/main" });
    assert.equal(result.commit, commits.second);
    assert.equal(await readFile(path.join(result.dir, "version.txt"), "utf8"), "two\n");
  });

  for (const [name, server] of [
    ["v2", () => v2],
    ["v0", () => v0],
  ] as const) {
    it(`answers commit_not_found for an unknown commit (${name})`, async () => {
      await assert.rejects(
        checkout({ cloneUrl: server().url("hello"), commit: "0123456789abcdef0123456789abcdef01234567", ref: "refs/heads/main" }),
        expectCode("commit_not_found", (m) => assert.match(m, /0123456/)),
      );
    });
  }

  it("answers commit_not_found when neither the commit nor the ref exists", async () => {
    await assert.rejects(
      checkout({ cloneUrl: v0.url("hello"), commit: "0123456789abcdef0123456789abcdef01234567", ref: "refs/heads/gone" }),
      expectCode("commit_not_found", (m) => assert.match(m, /refs\/heads\/gone no longer exists/)),
    );
  });

  it("clones a private repository with credentials, which end up nowhere on disk or in the log", async () => {
    logs.length = 0;
    const result = await checkout({
      cloneUrl: privateServer.url("secret"),
      commit: commits.privateHead,
      ref: "refs/heads/main",
      credentials: { username: "alice", password: PASSWORD },
    });
    assert.equal(await readFile(path.join(result.dir, "version.txt"), "utf8"), "private\n");
    const basic = Buffer.from(`alice:${PASSWORD}`).toString("base64");
    for (const file of ["config", "FETCH_HEAD"]) {
      const text = await readFile(path.join(result.dir, ".git", file), "utf8").catch(() => "");
      assert.ok(!text.includes(PASSWORD) && !text.includes(basic), `.git/${file} holds the credentials`);
    }
    assert.ok(!logs.join("\n").includes(PASSWORD));
  });

  it("takes a token given as the clone URL's username", async () => {
    const token = "ghp_0123456789abcdefTOKEN";
    const tokenServer = await startGitHttpServer({ auth: { username: token, password: "" } });
    try {
      const repo = await tokenServer.createRepo("token");
      const head = await repo.commit({ "version.txt": "token\n" }, "Token commit");
      logs.length = 0;
      const result = await checkout({ cloneUrl: tokenServer.url("token").replace("http://", `http://${token}@`), commit: head, ref: "refs/heads/main" });
      assert.equal(result.commit, head);
      assert.ok(!logs.join("\n").includes(token), logs.join("\n"));
    } finally {
      await tokenServer.close();
    }
  });

  it("takes credentials from the clone URL's userinfo without showing them", async () => {
    logs.length = 0;
    const url = privateServer.url("secret").replace("http://", `http://alice:${PASSWORD}@`);
    const result = await checkout({ cloneUrl: url, commit: commits.privateHead, ref: "refs/heads/main" });
    assert.equal(result.commit, commits.privateHead);
    assert.ok(!logs.join("\n").includes(PASSWORD), logs.join("\n"));
    assert.ok(!(await readFile(path.join(result.dir, ".git", "config"), "utf8")).includes(PASSWORD));
  });

  for (const [name, credentials] of [
    ["without credentials", undefined],
    ["with a wrong password", { username: "alice", password: `wrong-${PASSWORD}` }],
  ] as const) {
    it(`answers clone_failed for a private repository ${name}, naming no secret`, async () => {
      logs.length = 0;
      await assert.rejects(
        checkout({ cloneUrl: privateServer.url("secret"), commit: commits.privateHead, ref: "refs/heads/main", ...(credentials ? { credentials } : {}) }),
        expectCode("clone_failed", (m) => {
          assert.match(m, /authentication failed — check the source's credentials/);
          assert.ok(!m.includes(PASSWORD));
        }),
      );
      assert.ok(!logs.join("\n").includes(PASSWORD));
    });
  }

  it("answers clone_failed for a repository that does not exist", async () => {
    await assert.rejects(
      checkout({ cloneUrl: v2.url("nope"), commit: commits.first, ref: "refs/heads/main" }),
      expectCode("clone_failed", (m) => assert.match(m, /repository not found/)),
    );
  });

  it("answers clone_failed for a server nobody listens on", async () => {
    const { server, port } = await listen(() => undefined);
    await closeServer(server);
    await assert.rejects(
      checkout({ cloneUrl: `http://user:${PASSWORD}@127.0.0.1:${port}/x.git`, commit: commits.first, ref: "refs/heads/main" }),
      expectCode("clone_failed", (m) => {
        assert.match(m, /could not be reached/);
        assert.ok(!m.includes(PASSWORD) && !m.includes("user@"), m);
      }),
    );
  });

  it("refuses clone URLs that are not http(s)", async () => {
    await assert.rejects(
      checkout({ cloneUrl: "file:///etc", commit: commits.first, ref: "refs/heads/main" }),
      expectCode("clone_failed", (m) => assert.match(m, /not an http\(s\) URL/)),
    );
  });

  describe("against a server that never answers", () => {
    let hanging: { server: Server; port: number };
    before(async () => {
      hanging = await listen(() => undefined);
    });
    after(() => closeServer(hanging.server));

    it("stops git on abort, rejects with the signal's reason and leaves nothing behind", async () => {
      const before = await readdir(workDir);
      const controller = new AbortController();
      const checkingOut = checkout({ cloneUrl: `http://127.0.0.1:${hanging.port}/x.git`, commit: commits.first, ref: "refs/heads/main" }, { signal: controller.signal });
      // Abort once git is waiting on the server, its HTTP helper running.
      const deadline = Date.now() + 5_000;
      while ((await gitProcessesTalkingTo(hanging.port)).length === 0 && Date.now() < deadline) await sleep(50);
      assert.notDeepEqual(await gitProcessesTalkingTo(hanging.port), [], "git never reached the server");
      const abortedAt = Date.now();
      controller.abort();
      await assert.rejects(checkingOut, (err: unknown) => err instanceof Error && err.name === "AbortError");
      assert.ok(Date.now() - abortedAt < 3_000, "abort took too long");
      assert.deepEqual(await readdir(workDir), before);
      assert.deepEqual(await gitProcessesTalkingTo(hanging.port), []);
    });

    it("gives up after its timeout with clone_failed", async () => {
      await assert.rejects(
        checkout({ cloneUrl: `http://127.0.0.1:${hanging.port}/x.git`, commit: commits.first, ref: "refs/heads/main" }, { timeoutMs: 500 }),
        expectCode("clone_failed", (m) => assert.match(m, /took longer than/)),
      );
      assert.deepEqual(await gitProcessesTalkingTo(hanging.port), []);
    });
  });

  it("cleanup removes the checkout", async () => {
    const result = await checkout({ cloneUrl: v2.url("hello"), commit: commits.second, ref: "refs/heads/main" });
    await result.cleanup();
    await assert.rejects(readFile(path.join(result.dir, "version.txt")), { code: "ENOENT" });
  });
});

describe("resolveBuildPaths", () => {
  let outside: string;
  let clone: string;
  const commit = "abc1234def5678abc1234def5678abc1234def56";

  before(async () => {
    outside = await mkdtemp(path.join(tmpdir(), "slipway-paths-"));
    clone = path.join(outside, "clone");
    await mkdir(path.join(clone, "app", "docker"), { recursive: true });
    await mkdir(path.join(clone, "docker"), { recursive: true });
    await writeFile(path.join(outside, "Dockerfile"), "FROM scratch\n");
    await writeFile(path.join(clone, "Dockerfile"), "FROM scratch\n");
    await writeFile(path.join(clone, "app", "Dockerfile"), "FROM scratch\n");
    await writeFile(path.join(clone, "app", "docker", "Dockerfile.prod"), "FROM scratch\n");
    await writeFile(path.join(clone, "docker", "Dockerfile.real"), "FROM scratch\n");
    await symlink("docker/Dockerfile.real", path.join(clone, "Dockerfile.inside"));
    await symlink(path.join(outside, "Dockerfile"), path.join(clone, "Dockerfile.outside"));
    await symlink("../Dockerfile", path.join(clone, "Dockerfile.relative-outside"));
    await symlink("/nonexistent/Dockerfile", path.join(clone, "Dockerfile.dangling"));
    await symlink(outside, path.join(clone, "outside-dir"));
    await symlink("app", path.join(clone, "app-link"));
  });
  after(() => rm(outside, { recursive: true, force: true }));

  const ok: ReadonlyArray<readonly [string, string, string, string]> = [
    // context, dockerfile → context folder (relative to the clone), Dockerfile (relative to the context)
    ["/", "Dockerfile", "", "Dockerfile"],
    ["/", "", "", "Dockerfile"],
    ["", "app/Dockerfile", "app", "Dockerfile"],
    ["", "Dockerfile", "", "Dockerfile"],
    ["app", "Dockerfile", "app", "Dockerfile"],
    ["/app/", "docker/Dockerfile.prod", "app", "docker/Dockerfile.prod"],
    ["app-link", "Dockerfile", "app", "Dockerfile"],
    ["/", "Dockerfile.inside", "", "docker/Dockerfile.real"],
    ["/", "./app/../Dockerfile", "", "Dockerfile"],
  ];
  for (const [context, dockerfile, contextDir, dockerfilePath] of ok) {
    it(`context ${JSON.stringify(context)}, Dockerfile ${JSON.stringify(dockerfile)}`, async () => {
      const paths = await resolveBuildPaths(clone, context, dockerfile, commit);
      assert.deepEqual(paths, { contextDir: path.join(await realpath(clone), contextDir), dockerfilePath });
    });
  }

  const refused: ReadonlyArray<readonly [string, string, ErrorCode, RegExp]> = [
    ["../", "Dockerfile", "path_outside_clone", /leads outside the repository/],
    ["/", "../../Dockerfile", "path_outside_clone", /leads outside the repository/],
    ["", "../Dockerfile", "path_outside_clone", /leads outside the repository/],
    ["app", "../Dockerfile", "path_outside_clone", /outside the build context app/],
    ["/", "Dockerfile.outside", "path_outside_clone", /symlink that leads outside/],
    ["/", "Dockerfile.relative-outside", "path_outside_clone", /symlink that leads outside/],
    ["/", "Dockerfile.dangling", "path_outside_clone", /symlink that leads outside/],
    ["outside-dir", "Dockerfile", "path_outside_clone", /symlink that leads outside/],
    ["app", "Dockerfile.missing", "dockerfile_not_found", /^no Dockerfile at app\/Dockerfile\.missing in abc1234: check the build rule's Dockerfile location$/],
    ["/", "app", "dockerfile_not_found", /no Dockerfile at app in abc1234/],
    ["nowhere", "Dockerfile", "dockerfile_not_found", /no build context folder nowhere in abc1234/],
  ];
  for (const [context, dockerfile, code, message] of refused) {
    it(`refuses context ${JSON.stringify(context)}, Dockerfile ${JSON.stringify(dockerfile)} with ${code}`, async () => {
      await assert.rejects(resolveBuildPaths(clone, context, dockerfile, commit), expectCode(code, (m) => assert.match(m, message)));
    });
  }
});
