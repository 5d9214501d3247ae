import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Dockerode from "dockerode";
import { isSlipwayError, type ErrorCode } from "@slipway/core";
import { Readable } from "node:stream";
import { classifyRegistryError, createDockerImageBuilder, followJsonStream, type BuildRequest, type DockerMessage } from "./image-builder.js";

const DOCKER_HOST = requireEnv("DOCKER_HOST");
const REGISTRY = requireEnv("SLIPWAY_REGISTRY");
const BASE = `${REGISTRY}/slipway/busybox:latest`;
const never = new AbortController().signal;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run these tests through \`npm test\` or against the dev stack (see HELPERS.md)`);
  }
  return value;
}

function toDocker(host: string): Dockerode {
  const url = new URL(host);
  if (url.protocol === "unix:") return new Dockerode({ socketPath: url.pathname });
  return new Dockerode({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

function expectCode(code: ErrorCode, check?: (message: string) => void) {
  return (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err.message);
    return true;
  };
}

async function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("createDockerImageBuilder", () => {
  const docker = toDocker(DOCKER_HOST);
  const builder = createDockerImageBuilder({ docker });
  const run = randomUUID().slice(0, 8);
  const ns = `slipway-test-${run}`;
  let root: string;
  /** Image references and ids to remove afterwards; intermediate images of failed builds too. */
  const created = new Set<string>();
  const pushed: { name: string; digest: string }[] = [];

  /** A build whose output is recorded with arrival times, and whose images are cleaned up. */
  async function build(files: Record<string, string>, overrides: Partial<BuildRequest> = {}, signal = never, chunks: { at: number; text: string }[] = []) {
    const dir = await mkdtemp(path.join(root, "ctx-"));
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    const tags = overrides.tags ?? [`${REGISTRY}/${ns}/image-${randomUUID().slice(0, 8)}:latest`];
    const output = () => chunks.map((c) => c.text).join("");
    try {
      const result = await builder.build(
        { contextDir: dir, dockerfile: "Dockerfile", tags, buildArgs: {}, cache: true, ...overrides, log: (text) => chunks.push({ at: Date.now(), text }) },
        signal,
      );
      tags.forEach((tag) => created.add(tag));
      return { ...result, tags, chunks, output: output() };
    } finally {
      for (const [, id] of output().matchAll(/^ ---> ([0-9a-f]{12})\s*$/gm)) if (id !== undefined) created.add(id);
    }
  }

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), "slipway-build-"));
    await builder.ping().catch((err: unknown) => {
      throw new Error(`the Docker engine at ${DOCKER_HOST} does not answer: ${String(err)}`);
    });
  });

  after(async () => {
    const base = (await docker.getImage(BASE).inspect()).Id;
    // Tags first: removing them also removes their untagged parents.
    // The FROM step's " ---> <id>" line names the base image itself: never ours to remove.
    for (const ref of [...created].filter((ref) => !base.includes(ref)).sort((a, b) => b.length - a.length)) {
      await docker
        .getImage(ref)
        .remove()
        .catch((err: unknown) => {
          // Already gone with a tag removed before it, or shared with another image: either way not ours to force.
          const status = (err as { statusCode?: number }).statusCode;
          if (status !== 404 && status !== 409) throw err;
        });
    }
    assert.equal((await docker.getImage(BASE).inspect()).Id, base);
    for (const { name, digest } of pushed) {
      await fetch(`http://${REGISTRY}/v2/${name}/manifests/${digest}`, { method: "DELETE" });
    }
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  });

  it("answers ping, and docker_unavailable for an engine that is not there", async () => {
    await builder.ping();
    const absent = createDockerImageBuilder({ docker: new Dockerode({ socketPath: path.join(tmpdir(), `no-docker-${run}.sock`) }) });
    await assert.rejects(absent.ping(), expectCode("docker_unavailable", (m) => assert.match(m, /does not answer/)));
    await assert.rejects(
      absent.build({ contextDir: tmpdir(), dockerfile: "Dockerfile", tags: ["x:y"], buildArgs: {}, cache: true, log: () => undefined }, never),
      // The context has no Dockerfile: refused before the engine is asked.
      expectCode("dockerfile_not_found"),
    );
    await assert.rejects(absent.push({ tag: `${REGISTRY}/${ns}/x:latest`, log: () => undefined }, never), expectCode("docker_unavailable"));
  });

  describe("a successful build", () => {
    let first: Awaited<ReturnType<typeof build>>;
    const dockerfile = [
      `FROM ${BASE}`,
      "ARG SOURCE_COMMIT",
      `RUN echo "run ${run} commit=$SOURCE_COMMIT"; sleep 2; echo "after-""the-""sleep"`,
      "COPY . /ctx",
      "RUN find /ctx | sort",
    ].join("\n");
    const files = {
      Dockerfile: dockerfile,
      ".dockerignore": "secret.txt\nlogs\n!logs/keep.txt\nDockerfile\n",
      "app.txt": "app\n",
      "secret.txt": "do not send\n",
      "logs/a.log": "noise\n",
      "logs/keep.txt": "kept\n",
    };
    const image = `${REGISTRY}/${ns}/hello`;

    before(async () => {
      first = await build(files, {
        tags: [`${image}:latest`, `${image}:v1`],
        buildArgs: { SOURCE_COMMIT: "0123abc" },
        labels: { "org.slipway.test": run },
      });
    });

    it("returns the image id and tags every tag", async () => {
      assert.match(first.imageId, /^sha256:[0-9a-f]{64}$/);
      for (const tag of first.tags) assert.equal((await docker.getImage(tag).inspect()).Id, first.imageId);
      assert.equal((await docker.getImage(first.imageId).inspect()).Config.Labels["org.slipway.test"], run);
    });

    it("streams the build output as it arrives, build args included", () => {
      const seen = (text: string) => first.chunks.find((c) => c.text.includes(text))?.at;
      const echoed = seen(`run ${run} commit=0123abc`);
      const slept = seen("after-the-sleep");
      assert.ok(echoed !== undefined && slept !== undefined, first.output);
      assert.ok(slept - echoed >= 1_500, `output arrived all at once (${slept - echoed} ms apart)`);
    });

    it("sends the context as .dockerignore says", () => {
      assert.match(first.output, /^\/ctx\/app\.txt$/m);
      assert.match(first.output, /^\/ctx\/logs\/keep\.txt$/m);
      assert.doesNotMatch(first.output, /secret\.txt|a\.log/);
    });

    it("uses the cache when asked, and not when not", async () => {
      const cached = await build(files, { buildArgs: { SOURCE_COMMIT: "0123abc" }, labels: { "org.slipway.test": run } });
      assert.match(cached.output, /Using cache/);
      assert.equal(cached.imageId, first.imageId);
      const fresh = await build(files, { buildArgs: { SOURCE_COMMIT: "0123abc" }, labels: { "org.slipway.test": run }, cache: false });
      assert.doesNotMatch(fresh.output, /Using cache/);
      assert.notEqual(fresh.imageId, first.imageId);
    });

    it("pushes to the registry and returns the digest the registry serves", async () => {
      const chunks: string[] = [];
      const { digest } = await builder.push({ tag: `${image}:v1`, log: (text) => chunks.push(text) }, never);
      pushed.push({ name: `${ns}/hello`, digest });
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      const answer = await fetch(`http://${REGISTRY}/v2/${ns}/hello/manifests/v1`, {
        method: "HEAD",
        headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("docker-content-digest"), digest);
      const log = chunks.join("");
      assert.match(log, /: (Pushed|Mounted from|Layer already exists)/);
      assert.doesNotMatch(log, /: (Pushing|Preparing|Waiting)\n/);
    });
  });

  it("pulls the last image of its tags as a cache source when the engine lacks it", async () => {
    const files = { Dockerfile: `FROM ${BASE}\nRUN echo "layer ${randomUUID()}" > /layer\n` };
    const ref = `${REGISTRY}/${ns}/cached:latest`;
    const first = await build(files, { tags: [ref] });
    const { digest } = await builder.push({ tag: ref, log: () => {} }, never);
    pushed.push({ name: `${ns}/cached`, digest });
    // The engine forgets the image and its layers, as a new worker's engine would not have them.
    await docker.getImage(first.imageId).remove({ force: true });

    const again = await build(files, { tags: [`${REGISTRY}/${ns}/cached:next`], cacheFrom: { refs: [ref, `${REGISTRY}/${ns}/never-pushed:latest`] } });
    assert.match(again.output, new RegExp(`Pulled ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} as a cache source`));
    assert.match(again.output, /No earlier .*never-pushed:latest to take cache from/);
    assert.match(again.output, /Using cache/);

    const off = await build(files, { tags: [`${REGISTRY}/${ns}/cached:off`], cache: false, cacheFrom: { refs: [ref] } });
    assert.doesNotMatch(off.output, /Using cache|as a cache source/);
  });

  it("answers dockerfile_error for a failing step and keeps the log up to it", async () => {
    const chunks: { at: number; text: string }[] = [];
    await assert.rejects(
      build({ Dockerfile: `FROM ${BASE}\nRUN echo "before the failure ${run}"\nRUN false\n` }, {}, never, chunks),
      expectCode("dockerfile_error", (m) => assert.equal(m, "The command '/bin/sh -c false' returned a non-zero code: 1 (see the build log)")),
    );
    assert.match(chunks.map((c) => c.text).join(""), new RegExp(`before the failure ${run}`));
  });

  it("finds a Dockerfile in a folder that .dockerignore leaves out", async () => {
    const built = await build(
      { "docker/Dockerfile": `FROM ${BASE}\nCOPY . /ctx\nRUN find /ctx | sort\n`, "docker/other.txt": "ignored\n", ".dockerignore": "docker\n", "app.txt": "app\n" },
      { dockerfile: "docker/Dockerfile" },
    );
    assert.match(built.output, /^\/ctx\/app\.txt$/m);
    assert.doesNotMatch(built.output, /other\.txt/);
  });

  const refused: ReadonlyArray<readonly [string, string, ErrorCode, RegExp]> = [
    ["a Dockerfile that does not parse", "FORM scratch\n", "dockerfile_error", /^dockerfile parse error line 1: unknown instruction: FORM/],
    ["a base image that does not exist", `FROM ${REGISTRY}/${ns}/no-such-base:latest\n`, "dockerfile_error", /manifest unknown/],
    ["a base image on a registry that is down", "FROM 127.0.0.1:1/slipway/busybox:latest\n", "registry_unavailable", /connection refused/],
  ];
  for (const [name, dockerfile, code, message] of refused) {
    it(`answers ${code} for ${name}`, async () => {
      await assert.rejects(build({ Dockerfile: dockerfile }), expectCode(code, (m) => assert.match(m, message)));
    });
  }

  it("answers invalid_tag for a tag the engine refuses", async () => {
    await assert.rejects(build({ Dockerfile: `FROM ${BASE}\n` }, { tags: [`${REGISTRY}/${ns}/Not Valid:latest`] }), expectCode("invalid_tag"));
  });

  it("on abort, rejects within moments and leaves no build container behind", async () => {
    const marker = `abort-${run}`;
    const controller = new AbortController();
    const dir = await mkdtemp(path.join(root, "ctx-"));
    await writeFile(path.join(dir, "Dockerfile"), `FROM ${BASE}\nRUN echo ${marker}; sleep 30\n`);
    let abortedAt = 0;
    const building = builder.build(
      {
        contextDir: dir,
        dockerfile: "Dockerfile",
        tags: [`${REGISTRY}/${ns}/aborted:latest`],
        buildArgs: {},
        cache: false,
        log: (text) => {
          // Abort once the step's container is running: a second after it printed.
          if (text.includes(marker) && abortedAt === 0) {
            abortedAt = -1;
            setTimeout(() => {
              abortedAt = Date.now();
              controller.abort();
            }, 1_000);
          }
        },
      },
      controller.signal,
    );
    await assert.rejects(building, (err: unknown) => err instanceof Error && err.name === "AbortError");
    assert.ok(abortedAt > 0, "the build ended before it was aborted");
    assert.ok(Date.now() - abortedAt < 5_000, `the build took ${Date.now() - abortedAt} ms to stop`);
    const ours = async () => (await docker.listContainers({ all: true })).filter((c) => c.Command.includes(marker));
    const deadline = Date.now() + 5_000;
    while ((await ours()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await ours(), []);
  });

  describe("pushing to registries that fail", () => {
    const PASSWORD = "registry-Pa55word-never-shown";
    // The base image: the engine knows its layers' digests, so a registry that says it has them gets
    // no uploads (a layer never pushed anywhere would meet the engine's own upload retries, about a minute).
    const image = BASE;
    const servers: Server[] = [];
    after(() => Promise.all(servers.map(closeServer)));

    async function pushTo(port: number, auth: boolean) {
      const ref = `127.0.0.1:${port}/${ns}/failing:latest`;
      await docker.getImage(image).tag({ repo: `127.0.0.1:${port}/${ns}/failing`, tag: "latest" });
      created.add(ref);
      return builder.push(
        { tag: ref, log: () => undefined, ...(auth ? { auth: { username: "slipway", password: PASSWORD, serveraddress: `127.0.0.1:${port}` } } : {}) },
        never,
      );
    }

    it("answers registry_unavailable when nothing listens", async () => {
      const { server, port } = await listen(() => undefined);
      await closeServer(server);
      await assert.rejects(pushTo(port, false), expectCode("registry_unavailable", (m) => assert.match(m, /connection refused/)));
    });

    for (const auth of [false, true]) {
      it(`answers registry_refused when the registry answers 401 (${auth ? "with" : "without"} credentials)`, async () => {
        const { server, port } = await listen((_req, res) => {
          res.writeHead(401, { "WWW-Authenticate": 'Basic realm="x"' }).end();
        });
        servers.push(server);
        await assert.rejects(
          pushTo(port, auth),
          expectCode("registry_refused", (m) => {
            assert.match(m, auth ? /refused the credentials: .*401 Unauthorized/ : /no basic auth credentials/);
            assert.ok(!m.includes(PASSWORD));
          }),
        );
      });
    }

    it("answers registry_unavailable when the registry answers 503", async () => {
      // Blobs "exist" so the engine goes straight to the manifest; a 503 on everything gives the same
      // message, but only after the engine's own upload retries (about a minute).
      const { server, port } = await listen((req, res) => {
        if (req.method === "GET" && req.url === "/v2/") res.writeHead(200, { "Docker-Distribution-API-Version": "registry/2.0" }).end("{}");
        else if (req.method === "HEAD" && req.url?.includes("/blobs/") === true) {
          res.writeHead(200, { "Content-Length": "100", "Docker-Content-Digest": req.url.split("/").at(-1) ?? "" }).end();
        } else res.writeHead(503).end("down for maintenance");
      });
      servers.push(server);
      await assert.rejects(pushTo(port, false), expectCode("registry_unavailable", (m) => assert.match(m, /unexpected HTTP status: 503/)));
    });
  });

  describe("pushing with a registry token (Slipway's registry)", () => {
    const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0b2tlbi1uZXZlci1zaG93biJ9.c2lnbmF0dXJl";
    const servers: Server[] = [];
    after(() => Promise.all(servers.map(closeServer)));

    /** A registry that takes only TOKEN, holds every blob, and answers a manifest PUT as `onManifest` says. */
    async function tokenRegistry(onManifest: (body: Buffer) => { status: number; headers?: Record<string, string>; body?: string }) {
      const seen: { method: string; url: string; authorization: string | undefined }[] = [];
      const { server, port } = await listen((req, res) => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          res.writeHead(401, { "WWW-Authenticate": 'Bearer realm="http://127.0.0.1:9/v2/token",service="slipway-registry"', "Content-Type": "application/json" });
          res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        } else if (req.method === "GET" && req.url === "/v2/") {
          res.writeHead(200, { "Docker-Distribution-API-Version": "registry/2.0" }).end("{}");
        } else if (req.method === "HEAD" && req.url?.includes("/blobs/") === true) {
          res.writeHead(200, { "Content-Length": "100", "Docker-Content-Digest": req.url.split("/").at(-1) ?? "" }).end();
        } else if (req.method === "PUT" && req.url?.includes("/manifests/") === true) {
          const chunks: Buffer[] = [];
          req.on("data", (chunk: Buffer) => chunks.push(chunk));
          req.on("end", () => {
            const answer = onManifest(Buffer.concat(chunks));
            res.writeHead(answer.status, answer.headers).end(answer.body ?? "");
          });
        } else res.writeHead(404).end();
      });
      servers.push(server);
      const ref = `127.0.0.1:${port}/${ns}/token:latest`;
      await docker.getImage(BASE).tag({ repo: `127.0.0.1:${port}/${ns}/token`, tag: "latest" });
      created.add(ref);
      return { ref, port, seen };
    }

    it("hands the token to the registry as the bearer, with no login first", async () => {
      const { ref, port, seen } = await tokenRegistry((body) => {
        const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
        return { status: 201, headers: { "Docker-Content-Digest": digest, Location: `/v2/${ns}/token/manifests/${digest}` } };
      });
      const { digest } = await builder.push({ tag: ref, auth: { registrytoken: TOKEN, serveraddress: `127.0.0.1:${port}` }, log: () => undefined }, never);
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      assert.ok(seen.some((r) => r.method === "PUT" && r.authorization === `Bearer ${TOKEN}`), "the manifest went up with the token");
      // Only the engine's first ping goes without it (that is how it learns the registry wants a bearer).
      assert.deepEqual(
        seen.filter((r) => r.authorization !== `Bearer ${TOKEN}`).map((r) => `${r.method} ${r.url} ${r.authorization ?? "-"}`),
        ["GET /v2/ -"],
      );
    });

    it("answers registry_refused when the registry refuses the token, never showing it", async () => {
      const { ref, port } = await tokenRegistry(() => ({
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="x",service="slipway-registry",error="insufficient_scope"', "Content-Type": "application/json" },
        body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
      }));
      await assert.rejects(
        builder.push({ tag: ref, auth: { registrytoken: TOKEN, serveraddress: `127.0.0.1:${port}` }, log: () => undefined }, never),
        expectCode("registry_refused", (m) => assert.ok(!m.includes(TOKEN) && !m.includes("c2lnbmF0dXJl"), m)),
      );
    });
  });
});

describe("followJsonStream", () => {
  it("reads messages split anywhere, even inside a character, and passes other lines on as text", async () => {
    const text = '{"stream":"caf\u00e9 \u2713\\n"}\n\n{"aux":{"ID":"sha256:1"}}\nnot json\n{"status":"done"}';
    const bytes = Buffer.from(text, "utf8");
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    const messages: DockerMessage[] = [];
    await followJsonStream(Readable.from(chunks), never, (message) => messages.push(message));
    assert.deepEqual(messages, [{ stream: "caf\u00e9 \u2713\n" }, { aux: { ID: "sha256:1" } }, { stream: "not json\n" }, { status: "done" }]);
  });

  it("stops at abort with the signal's reason", async () => {
    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    const following = followJsonStream(endless, controller.signal, () => undefined);
    controller.abort(new Error("canceled by a user"));
    await assert.rejects(following, /canceled by a user/);
  });
});

describe("classifyRegistryError", () => {
  // Messages Docker 20.10 gave in these tests (and, marked, ones other registries are known to give).
  const table: ReadonlyArray<readonly [string, ErrorCode]> = [
    ['Get "http://127.0.0.1:35161/v2/": dial tcp 127.0.0.1:35161: connect: connection refused', "registry_unavailable"],
    ["received unexpected HTTP status: 503 Service Unavailable", "registry_unavailable"],
    ["no basic auth credentials", "registry_refused"],
    ["unauthorized: authentication required", "registry_refused"],
    ["login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized", "registry_refused"],
    ["An image does not exist locally with the tag: 127.0.0.1:25000/x/y", "registry_refused"],
    // Known from Docker Hub and other hosted registries.
    ["denied: requested access to the resource is denied", "registry_refused"],
    ['Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid: no such host', "registry_unavailable"],
    ["net/http: TLS handshake timeout", "registry_unavailable"],
    ["toomanyrequests: You have reached your pull rate limit", "registry_unavailable"],
    ["received unexpected HTTP status: 502 Bad Gateway", "registry_unavailable"],
  ];
  for (const [message, code] of table) {
    it(`${message} → ${code}`, () => assert.equal(classifyRegistryError(message), code));
  }
});
