import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { isolatedGitEnv, startGitServer, type GitServer } from "./git-server.js";

const execFileAsync = promisify(execFile);

/** git as a client would run it, in `cwd`; rejects with git's stderr. */
async function git(args: readonly string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync("git", args, {
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...process.env, ...isolatedGitEnv },
  });
  return stdout.trim();
}

function withCredentials(url: string, username: string, password: string): string {
  const u = new URL(url);
  u.username = username;
  u.password = password;
  return u.toString();
}

describe("git server", () => {
  let tmp: string;
  let server: GitServer;

  before(async () => {
    tmp = await mkdtemp(join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), "git-server-"));
    server = await startGitServer({ root: join(tmp, "repos"), users: { alice: "s3cret" } });
  });
  after(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("serves a public repository to an anonymous clone, file modes included", async () => {
    const { url } = await server.createRepo("acme/web/app");
    assert.equal(url, `${server.baseUrl}/acme/web/app.git`);
    const { commit } = await server.commitAndPush("acme/web/app", {
      Dockerfile: "FROM scratch\n",
      "hooks/build": { content: "#!/bin/sh\necho hook\n", mode: 0o755 },
    });
    assert.match(commit, /^[0-9a-f]{40}$/);

    const clone = join(tmp, "public-clone");
    await git(["clone", "--quiet", url, clone]);
    assert.equal(await git(["rev-parse", "HEAD"], clone), commit);
    assert.equal(await readFile(join(clone, "Dockerfile"), "utf8"), "FROM scratch\n");
    assert.equal((await stat(join(clone, "hooks/build"))).mode & 0o777, 0o755);
  });

  it("asks for credentials on a private repository", async () => {
    const { url } = await server.createRepo("acme/secret", { private: true });
    await server.commitAndPush("acme/secret", { README: "private\n" });
    const cases = [
      { auth: undefined, status: 401 },
      { auth: ["alice", "wrong"], status: 401 },
      { auth: ["mallory", "s3cret"], status: 401 },
      { auth: ["alice", "s3cret"], status: 200 },
    ] as const;
    for (const { auth, status } of cases) {
      const headers: Record<string, string> =
        auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(auth.join(":")).toString("base64")}` };
      const res = await fetch(`${url}/info/refs?service=git-upload-pack`, { headers });
      await res.arrayBuffer();
      assert.equal(res.status, status, `credentials ${auth?.join(":") ?? "(none)"}`);
      if (status === 401) assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
    }

    await assert.rejects(git(["clone", "--quiet", url, join(tmp, "denied")]), /Authentication failed|could not read Username/);
    const clone = join(tmp, "private-clone");
    await git(["clone", "--quiet", withCredentials(url, "alice", "s3cret"), clone]);
    assert.equal(await readFile(join(clone, "README"), "utf8"), "private\n");
  });

  it("takes pushes of branches and annotated tags over HTTP", async () => {
    const { url } = await server.createRepo("acme/push");
    const first = await server.commitAndPush("acme/push", { a: "1\n" });
    const clone = join(tmp, "push-clone");
    await git(["clone", "--quiet", url, clone]);
    await git(["checkout", "--quiet", "-b", "feature/x"], clone);
    await git(["commit", "--quiet", "--allow-empty", "-m", "feature"], clone);
    const feature = await git(["rev-parse", "HEAD"], clone);
    await git(["tag", "-a", "-m", "release", "v1.0.0"], clone);
    await git(["push", "--quiet", "origin", "feature/x", "v1.0.0"], clone);
    const tagObject = await git(["rev-parse", "v1.0.0"], clone);

    const { commit: viaHelper, tagObject: helperTag } = await server.commitAndPush(
      "acme/push",
      { b: "2\n" },
      { branch: "release/2", tag: "v2.0.0", annotated: true, message: "two" },
    );
    assert.match(helperTag ?? "", /^[0-9a-f]{40}$/);

    const refs = new Map(
      (await git(["ls-remote", url])).split("\n").map((line) => {
        const [sha, ref] = line.split("\t");
        return [ref, sha] as const;
      }),
    );
    assert.equal(refs.get("refs/heads/main"), first.commit);
    assert.equal(refs.get("refs/heads/feature/x"), feature);
    assert.equal(refs.get("refs/tags/v1.0.0"), tagObject);
    assert.equal(refs.get("refs/tags/v1.0.0^{}"), feature);
    assert.equal(refs.get("refs/heads/release/2"), viaHelper);
    assert.equal(refs.get("refs/tags/v2.0.0"), helperTag);
    assert.equal(refs.get("refs/tags/v2.0.0^{}"), viaHelper);
    // release/2 grew from main.
    assert.equal(await git(["rev-parse", `${viaHelper}^`], join(tmp, "repos", "acme/push.git")), first.commit);
  });

  it("fetches one commit by its id, shallow, over protocol v2", async () => {
    const { url } = await server.createRepo("acme/by-sha");
    const old = await server.commitAndPush("acme/by-sha", { v: "old\n" });
    await server.commitAndPush("acme/by-sha", { v: "new\n" });
    const dir = join(tmp, "by-sha");
    await git(["init", "--quiet", dir]);
    await git(["remote", "add", "origin", url], dir);
    // Not a ref tip: only protocol v2 lets a client ask for it (no allow*SHA1InWant set).
    await git(["-c", "protocol.version=2", "fetch", "--quiet", "--depth", "1", "origin", old.commit], dir);
    assert.equal(await git(["rev-parse", "FETCH_HEAD"], dir), old.commit);
    await git(["checkout", "--quiet", "FETCH_HEAD"], dir);
    assert.equal(await readFile(join(dir, "v"), "utf8"), "old\n");
    assert.equal(await git(["rev-list", "--count", "HEAD"], dir), "1");
  });

  it("refuses names that climb out of its root", async () => {
    await assert.rejects(server.createRepo("../escape"), /invalid repository name/);
    const res = await fetch(`${server.baseUrl}/acme/%2e%2e/%2e%2e/etc.git/info/refs`);
    await res.arrayBuffer();
    assert.equal(res.status, 404);
  });
});
