import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Docker from "dockerode";
import { toDockerOptions } from "@slipway/infra";
import { ensureBaseImage } from "./base-image.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the services`);
  return value;
}

/** A non-TTY container's log: frames of [stream, 0, 0, 0, size (4 bytes BE)] + payload. */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    const payload = buffer.subarray(at + 8, at + 8 + size).toString("utf8");
    if (buffer[at] === 2) out.stderr += payload;
    else out.stdout += payload;
    at += 8 + size;
  }
  return out;
}

async function run(docker: Docker, image: string, cmd: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    NetworkDisabled: true,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { status: StatusCode, ...demux(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

describe("test base image", () => {
  const dockerHost = required("DOCKER_HOST");
  const registry = required("SLIPWAY_REGISTRY");
  const docker = new Docker(toDockerOptions(dockerHost));

  it("is built, pushed, and the same reference on a second call", async () => {
    const reference = await ensureBaseImage({ dockerHost, registry });
    assert.equal(reference, `${registry}/slipway/busybox:latest`);
    assert.equal(await ensureBaseImage({ dockerHost, registry }), reference);

    const res = await fetch(`http://${registry}/v2/slipway/busybox/manifests/latest`, {
      method: "HEAD",
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    assert.equal(res.status, 200, "the registry holds the pushed manifest");
    assert.match(res.headers.get("docker-content-digest") ?? "", /^sha256:[0-9a-f]{64}$/);
  });

  const cases = [
    { cmd: ["echo", "hello from busybox"], stdout: "hello from busybox\n" },
    { cmd: ["sh", "-c", "echo $((6 * 7))"], stdout: "42\n" },
    { cmd: ["ls", "/bin/wget"], stdout: "/bin/wget\n" },
  ];
  for (const { cmd, stdout } of cases) {
    it(`runs ${JSON.stringify(cmd)} with no network`, async () => {
      const reference = await ensureBaseImage({ dockerHost, registry });
      const result = await run(docker, reference, cmd);
      assert.deepEqual(result, { status: 0, stdout, stderr: "" });
    });
  }

  it("has no network inside", async () => {
    const reference = await ensureBaseImage({ dockerHost, registry });
    const result = await run(docker, reference, ["sh", "-c", "ls /sys/class/net"]);
    assert.equal(result.stdout.trim(), "lo");
  });
});
