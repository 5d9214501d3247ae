import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkContainerCreate, checkExecCreate, decide, type EnginePolicy, type HookSessionState } from "./engine-policy.js";

const policy: EnginePolicy = { repository: "127.0.0.1:5000/acme/hello", buildNetwork: "slipway-builds" };
const own = "a".repeat(64);
const helper = "d".repeat(64);
const state = (): HookSessionState => ({ containers: new Set([own, helper]), names: new Map([["helper", helper]]), execs: new Set(["e".repeat(64)]) });

describe("decide: what a hook's docker CLI may ask of the engine", () => {
  const allowed: Array<[string, string]> = [
    ["HEAD", "/_ping"],
    ["GET", "/v1.41/version"],
    ["GET", "/v1.41/images/alpine/json"],
    ["POST", "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Facme%2Fhello&tag=latest"],
    ["POST", "/v1.41/images/127.0.0.1:5000/acme/hello/push?tag=v1"],
    ["POST", "/v1.41/images/sha256:abc/tag?repo=127.0.0.1%3A5000%2Facme%2Fhello&tag=extra"],
    ["DELETE", "/v1.41/images/127.0.0.1:5000/acme/hello:extra"],
    ["POST", `/v1.41/containers/${own}/start`],
    ["POST", `/v1.41/containers/${own.slice(0, 12)}/wait?condition=next-exit`],
    ["POST", "/v1.41/containers/helper/attach?stream=1"],
    ["DELETE", `/v1.41/containers/${own}?force=1`],
    ["GET", `/v1.41/containers/${own}/logs?stdout=1`],
    ["POST", `/v1.41/exec/${"e".repeat(64)}/start`],
  ];
  for (const [method, url] of allowed) {
    it(`forwards ${method} ${url}`, () => assert.equal(decide(method, url, policy, state()).kind, "forward"));
  }

  const refused: Array<[string, string, RegExp]> = [
    ["GET", "/v1.41/containers/json", /not allowed/],
    ["GET", "/v1.41/images/json", /not allowed/],
    ["GET", "/v1.41/images/127.0.0.1:5000/victim/private:latest/json", /look at images of/],
    ["GET", "/v1.41/images/127.0.0.1:5000/victim/private/history", /look at images of/],
    ["POST", "/v1.41/images/127.0.0.1:5000/victim/private:latest/tag?repo=127.0.0.1%3A5000%2Facme%2Fhello&tag=stolen", /tag images of/],
    ["POST", `/v1.41/containers/${"b".repeat(64)}/start`, /containers they created only/],
    ["POST", "/v1.41/containers/aaaa/start", /containers they created only/],
    ["POST", `/v1.41/exec/${"f".repeat(64)}/start`, /execs they started only/],
    ["POST", "/v1.41/images/127.0.0.1:5000/acme/other/push?tag=latest", /push to 127\.0\.0\.1:5000\/acme\/hello only/],
    ["POST", "/v1.41/images/x/tag?repo=acme%2Fhello&tag=latest", /tag images of/],
    ["DELETE", `/v1.41/images/${"c".repeat(64)}`, /by name/],
    ["DELETE", "/v1.41/images/127.0.0.1:5000/acme/other:latest", /remove tags of/],
    ["POST", "/v1.41/images/create?fromSrc=-&repo=x", /importing/],
    ["POST", "/v1.41/images/load", /not allowed/],
    ["POST", "/v1.41/commit?container=x&repo=y", /not allowed/],
    ["POST", "/v1.41/build?remote=http%3A%2F%2F127.0.0.1%3A6379%2F", /remote/],
    ["POST", "/v1.41/build?version=2", /BuildKit/],
    ["POST", "/v1.41/build?t=other%3Alatest", /tag images of/],
    ["POST", "/v1.41/build?networkmode=host", /not host/],
    ["GET", "/v1.41/volumes", /not allowed/],
    ["POST", "/v1.41/networks/create", /not allowed/],
    ["POST", "/v1.41/auth", /not allowed/],
    ["GET", "/v1.41/events", /not allowed/],
    ["POST", "/v1.41/swarm/init", /not allowed/],
    ["POST", `/v1.41/containers/${own}/update`, /not allowed/],
  ];
  for (const [method, url, message] of refused) {
    it(`refuses ${method} ${url}`, () => {
      const decision = decide(method, url, policy, state());
      assert.equal(decision.kind, "refuse");
      assert.match((decision as { message: string }).message, message);
    });
  }

  it("sends a call on a container the hook named to the id it gave that name, never to the name", () => {
    // Once the hook's container is gone, the engine gives its name to whoever asks, another build too.
    assert.deepEqual(decide("POST", "/v1.41/containers/helper/attach?stream=1", policy, state()), { kind: "forward", url: `/v1.41/containers/${helper}/attach?stream=1` });
    assert.deepEqual(decide("DELETE", "/containers/%2Fhelper?force=1", policy, state()), { kind: "forward", url: `/containers/${helper}?force=1` });
    assert.deepEqual(decide("POST", "/v1.41/containers/helper/exec", policy, state()), { kind: "create-exec", url: `/v1.41/containers/${helper}/exec` });
    assert.deepEqual(decide("POST", `/containers/${own.slice(0, 12)}/start`, policy, state()), { kind: "forward", url: `/containers/${own}/start` });
    // A prefix two of its containers share names neither.
    const twins: HookSessionState = { containers: new Set([`${"1".repeat(12)}a${"0".repeat(51)}`, `${"1".repeat(12)}b${"0".repeat(51)}`]), names: new Map(), execs: new Set() };
    assert.equal(decide("POST", `/containers/${"1".repeat(12)}/start`, policy, twins).kind, "refuse");
  });

  it("asks for the registry's credentials on pushes and pulls of that registry only", () => {
    assert.deepEqual(decide("POST", "/images/127.0.0.1:5000/acme/hello/push?tag=v1", policy, state()), { kind: "forward", registryAuth: "127.0.0.1:5000" });
    assert.deepEqual(decide("POST", "/images/create?fromImage=alpine&tag=3", policy, state()), { kind: "forward", registryAuth: "docker.io" });
  });

  it("runs a hook's builds on the worker's build network, or none", () => {
    const defaulted = decide("POST", "/v1.41/build?t=127.0.0.1%3A5000%2Facme%2Fhello%3Alatest&networkmode=default", policy, state());
    assert.equal(defaulted.kind, "build");
    assert.equal((defaulted as { query: URLSearchParams }).query.get("networkmode"), "slipway-builds");
    const none = decide("POST", "/v1.41/build?networkmode=none", policy, state());
    assert.equal((none as { query: URLSearchParams }).query.get("networkmode"), "none");
    const engineDefault = decide("POST", "/v1.41/build", { repository: policy.repository }, state());
    assert.equal((engineDefault as { query: URLSearchParams }).query.has("networkmode"), false);
  });
});

describe("checkContainerCreate: hook containers stay in the sandbox", () => {
  const labels = { "slipway.build": "b1" };

  it("forces no network and the session's label onto what the CLI sends", () => {
    // What `docker run --rm alpine true` sends, abridged: zero values everywhere.
    const checked = checkContainerCreate(
      {
        Image: "alpine",
        Cmd: ["true"],
        Labels: { mine: "yes" },
        HostConfig: { AutoRemove: true, Binds: null, NetworkMode: "default", Privileged: false, CapAdd: null, PidMode: "", LogConfig: { Type: "", Config: {} }, MaskedPaths: null },
        NetworkingConfig: { EndpointsConfig: {} },
      },
      labels,
    );
    assert.ok("body" in checked);
    assert.equal((checked.body["HostConfig"] as Record<string, unknown>)["NetworkMode"], "none");
    assert.deepEqual(checked.body["Labels"], { mine: "yes", "slipway.build": "b1" });
    assert.equal(checked.body["NetworkingConfig"], undefined);
  });

  const escapes: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a bind mount", { Binds: ["/:/host"] }, /Binds/],
    ["a volume mount", { Mounts: [{ Type: "bind", Source: "/", Target: "/host" }] }, /only tmpfs/],
    ["privileged", { Privileged: true }, /Privileged/],
    ["the host's network", { NetworkMode: "host" }, /NetworkMode/],
    ["another container's network", { NetworkMode: "container:redis" }, /NetworkMode/],
    ["the host's pids", { PidMode: "host" }, /PidMode/],
    ["the host's ipc", { IpcMode: "host" }, /IpcMode/],
    ["the host's cgroup namespace", { CgroupnsMode: "host" }, /CgroupnsMode/],
    ["a capability", { CapAdd: ["SYS_ADMIN"] }, /CapAdd/],
    ["a device", { Devices: [{ PathOnHost: "/dev/sda" }] }, /Devices/],
    ["a security option", { SecurityOpt: ["seccomp=unconfined"] }, /SecurityOpt/],
    ["unmasked /proc paths", { MaskedPaths: [] }, /MaskedPaths/],
    ["another container's volumes", { VolumesFrom: ["redis"] }, /VolumesFrom/],
    ["a log driver that sends over the network", { LogConfig: { Type: "syslog", Config: { "syslog-address": "tcp://127.0.0.1:6379" } } }, /log driver syslog/],
    ["a field this list does not know", { SomeFutureField: "on" }, /SomeFutureField/],
  ];
  for (const [what, hostConfig, message] of escapes) {
    it(`refuses ${what}`, () => {
      const checked = checkContainerCreate({ Image: "alpine", HostConfig: hostConfig }, labels);
      assert.ok("refusal" in checked, `${what} was let through`);
      assert.match(checked.refusal, message);
    });
  }

  it("refuses what the engine would read differently: keys in another case, repeated or unknown", () => {
    const escapes: unknown[] = [
      { Image: "alpine", HostConfig: {}, hostConfig: { Privileged: true, Binds: ["/:/host"] } },
      { Image: "alpine", hostConfig: { Privileged: true } },
      { Image: "alpine", HostConfig: { Mounts: [{ Type: "tmpfs", type: "bind", Source: "/", Target: "/host" }] } },
      { Image: "alpine", HostConfig: { LogConfig: { Type: "", type: "syslog" } } },
      { Image: "alpine", HostConfig: { privileged: true } },
      { Image: "alpine", networkingConfig: { EndpointsConfig: { host: {} } } },
    ];
    for (const body of escapes) assert.ok("refusal" in checkContainerCreate(body, labels), JSON.stringify(body));
    assert.ok("refusal" in checkExecCreate({ Cmd: ["sh"], privileged: true }));
    assert.ok("refusal" in checkExecCreate({ Cmd: ["sh"], Privileged: false, privileged: true }));
  });

  it("runs images of the build's own repository or another registry, never another repository of Slipway's", () => {
    assert.ok("body" in checkContainerCreate({ Image: "127.0.0.1:5000/acme/hello:latest" }, labels, policy));
    assert.ok("body" in checkContainerCreate({ Image: "alpine" }, labels, policy));
    assert.ok("body" in checkContainerCreate({ Image: "sha256:" + "d".repeat(64) }, labels, policy));
    const refused = checkContainerCreate({ Image: "127.0.0.1:5000/victim/private:latest" }, labels, policy);
    assert.ok("refusal" in refused);
    assert.match(refused.refusal, /run images of/);
  });

  it("refuses a network other than none", () => {
    const checked = checkContainerCreate({ Image: "alpine", NetworkingConfig: { EndpointsConfig: { bridge: {} } } }, labels);
    assert.ok("refusal" in checked);
  });

  it("allows tmpfs mounts and resource limits", () => {
    const checked = checkContainerCreate({ Image: "alpine", HostConfig: { Mounts: [{ Type: "tmpfs", Target: "/scratch" }], Memory: 1 << 28, PidsLimit: 100 } }, labels);
    assert.ok("body" in checked);
  });
});

describe("checkExecCreate: execs in the hook's containers", () => {
  it("lets a plain exec through and refuses a privileged one", () => {
    assert.ok("body" in checkExecCreate({ Cmd: ["ls"], AttachStdout: true, Privileged: false }));
    const refused = checkExecCreate({ Cmd: ["sh"], Privileged: true });
    assert.ok("refusal" in refused);
    assert.match(refused.refusal, /--privileged/);
  });
});
