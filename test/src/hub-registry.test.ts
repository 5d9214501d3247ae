import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type Docker from "dockerode";
import { loadRegistryTokenKey } from "@slipway/config";
import { libtrustKeyId, mintRegistryToken, REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE, type RegistryAccess, type RegistryTokenSigner } from "@slipway/core";
import { testDocker } from "./support/docker.js";
import { startHubRegistry, type HubRegistry } from "./support/hub-registry.js";
import { freePort, requireEnv, waitFor } from "./support/slipway.js";

interface Delivery {
  headers: IncomingHttpHeaders;
  body: { events: { action: string; target: { mediaType?: string; repository: string; tag?: string }; actor: { name?: string } }[] };
}

/** Pushes (or pulls) through the engine with a bearer token, as the worker does; the engine's error text, or undefined. */
async function viaEngine(docker: Docker, call: "push" | "pull", ref: string, auth: { registrytoken: string; serveraddress: string }): Promise<string | undefined> {
  const [repository, tag] = [ref.slice(0, ref.lastIndexOf(":")), ref.slice(ref.lastIndexOf(":") + 1)];
  const stream = call === "push" ? await docker.getImage(repository).push({ tag, authconfig: auth }) : await docker.pull(ref, { authconfig: auth });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, result: { error?: string }[]) => (err ? reject(err) : resolve(result))),
  );
  return output.find((message) => message.error !== undefined)?.error;
}

describe("hub registry (Distribution with Slipway's token authentication)", () => {
  const tmp = mkdtempSync(join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), "hub-registry-test-"));
  const key = loadRegistryTokenKey(tmp);
  const signer: RegistryTokenSigner = { privateKey: key.privateKey, keyId: key.keyId, issuer: REGISTRY_TOKEN_ISSUER, service: REGISTRY_TOKEN_SERVICE };
  const realm = "http://127.0.0.1:9/v2/token";
  const deliveries: Delivery[] = [];
  let events: Server;
  let registry: HubRegistry;

  const token = async (access: RegistryAccess[], subject = "alice", by: RegistryTokenSigner = signer) => (await mintRegistryToken(by, { subject, access })).token;
  const getV2 = async (bearer?: string) => {
    const res = await fetch(`http://${registry.address}/v2/`, bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } });
    await res.arrayBuffer();
    return res;
  };

  before(async () => {
    events = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        deliveries.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Delivery["body"] });
        res.writeHead(204).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => events.listen(port, "127.0.0.1", resolve));
    registry = await startHubRegistry({ certificatePath: key.certificatePath, realm, eventsUrl: `http://127.0.0.1:${port}/registry/events`, eventsSecret: "events-secret" });
  });
  after(async () => {
    await registry?.close();
    await new Promise((resolve) => events?.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("challenges a request without a token, naming Slipway's realm and service", async () => {
    const res = await getV2();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), `Bearer realm="${realm}",service="slipway-registry"`);
  });

  it("takes a token Slipway signed, even one granting nothing (what docker login needs)", async () => {
    assert.equal((await getV2(await token([]))).status, 200);
  });

  it("refuses a token for another service, or signed with another key", async () => {
    assert.equal((await getV2(await token([], "alice", { ...signer, service: "other-registry" }))).status, 401);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    assert.equal((await getV2(await token([], "alice", { ...signer, privateKey: other, keyId: libtrustKeyId(other) }))).status, 401);
    assert.equal((await getV2(await token([], "alice", { ...signer, privateKey: other }))).status, 401, "the right key id does not make a wrong signature good");
    // The reason is logged at info, its quotes escaped (logfmt).
    assert.match(readFileSync(registry.logFile, "utf8"), /token intended for another audience: \\"other-registry\\"/);
  });

  it("lets the engine push with a token for that one repository, and tells Slipway who pushed", async () => {
    const docker = testDocker();
    const ref = `${registry.address}/hub/app:v1`;
    const [repository, tag] = [`${registry.address}/hub/app`, "v1"];
    await docker.getImage(requireEnv("SLIPWAY_TEST_BASE_IMAGE")).tag({ repo: repository, tag });
    try {
      const serveraddress = registry.address;
      const pullOnly = await token([{ type: "repository", name: "hub/app", actions: ["pull"] }]);
      assert.match((await viaEngine(docker, "push", ref, { registrytoken: pullOnly, serveraddress })) ?? "", /denied|unauthorized|authentication required/);
      const otherRepository = await token([{ type: "repository", name: "hub/other", actions: ["pull", "push"] }]);
      assert.ok((await viaEngine(docker, "push", ref, { registrytoken: otherRepository, serveraddress })) !== undefined, "a token for another repository pushes nothing");

      const build = await token([{ type: "repository", name: "hub/app", actions: ["pull", "push"] }], "slipway:build:b1");
      assert.equal(await viaEngine(docker, "push", ref, { registrytoken: build, serveraddress }), undefined);
      assert.equal(await viaEngine(docker, "pull", ref, { registrytoken: pullOnly, serveraddress }), undefined);

      const pushed = await waitFor("the push event", () => deliveries.find((d) => d.body.events.some((e) => e.action === "push" && e.target.tag === "v1")), 10_000);
      assert.equal(pushed.headers.authorization, "Bearer events-secret");
      assert.equal(pushed.headers["content-type"], "application/vnd.docker.distribution.events.v1+json");
      const event = pushed.body.events.find((e) => e.target.tag === "v1")!;
      assert.equal(event.target.repository, "hub/app");
      assert.equal(event.actor.name, "slipway:build:b1");
      // Blob events and pulls are filtered out by the registry's configuration.
      const all = deliveries.flatMap((d) => d.body.events);
      assert.deepEqual(all.filter((e) => e.action === "pull" || e.target.mediaType === "application/octet-stream"), []);
    } finally {
      await docker.getImage(ref).remove({ noprune: true }).catch(() => undefined);
    }
  });
});
