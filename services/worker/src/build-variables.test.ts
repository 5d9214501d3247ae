import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSecretBox, isSlipwayError, SlipwayError } from "@slipway/core";
import { createStore } from "@slipway/store";
import { loadBuildVariables, withoutSecrets } from "./build-variables.js";

const SECRET = "hunter2-secret";
const QUOTED = 'pa"ss\\w0rd\nline2';

describe("withoutSecrets", () => {
  it("leaves an error that mentions no secret as it is", () => {
    const err = new SlipwayError("dockerfile_error", "step 2 failed", { cause: new Error("exit 1") });
    assert.equal(withoutSecrets(err, [SECRET]), err);
    assert.equal(withoutSecrets(err, []), err);
    assert.equal(withoutSecrets(err, [""]), err);
  });

  const leaks: [string, unknown, string?][] = [
    ["in the message", new SlipwayError("dockerfile_error", `pull of x/${SECRET} failed`)],
    ["in the cause", new SlipwayError("docker_unavailable", "the engine failed", { cause: new Error(`no ${SECRET}`) })],
    ["in an own field", Object.assign(new Error("(HTTP code 500) server error"), { json: { message: `bad ${SECRET}` } })],
    // The engine quotes values as JSON: a secret with a quote or newline is spelt escaped.
    ["escaped as JSON in the message", new SlipwayError("dockerfile_error", `bad ${JSON.stringify(QUOTED).slice(1, -1)}`), QUOTED],
    ["JSON-escaped in an own field", Object.assign(new Error("failed"), { json: { message: `bad "${SECRET}"\n` } })],
    ["a thrown string", `oops ${SECRET}`],
  ];
  for (const [where, err, secret = SECRET] of leaks) {
    it(`masks a secret ${where}, keeping the code and dropping the cause`, () => {
      const safe = withoutSecrets(err, [secret]) as Error;
      assert.notEqual(safe, err);
      for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) {
        assert.ok(!safe.message.includes(form), safe.message);
        assert.ok(!(safe.stack ?? "").includes(form));
      }
      assert.equal(safe.cause, undefined);
      if (isSlipwayError(err)) assert.equal((safe as SlipwayError).code, err.code);
    });
  }

  it("keeps the rest of the message", () => {
    const safe = withoutSecrets(new SlipwayError("dockerfile_error", `manifest for r/${SECRET}:latest not found`), [SECRET]) as Error;
    assert.equal(safe.message, "manifest for r/****:latest not found");
  });
});

describe("loadBuildVariables", () => {
  it("opens every variable and lists the secret ones' values", async () => {
    const box = createSecretBox("worker-variables-test");
    const store = createStore({ databaseUrl: ":memory:" });
    try {
      await store.migrate();
      const repo = await store.createRepository({ namespace: "acme", name: "hello", private: false, description: "" });
      await store.variables.set(repo.id, { key: "PLAIN", valueEnc: box.seal("p"), secret: false });
      await store.variables.set(repo.id, { key: "TOKEN", valueEnc: box.seal(SECRET), secret: true });
      assert.deepEqual(await loadBuildVariables(store, box, repo.id), { values: { PLAIN: "p", TOKEN: SECRET }, secrets: [SECRET] });

      // Sealed under another key (SLIPWAY_SECRET_KEY changed): a clear failure naming the variable, not its value.
      await assert.rejects(loadBuildVariables(store, createSecretBox("another key"), repo.id), (err: unknown) => {
        return isSlipwayError(err) && err.code === "internal_error" && /PLAIN/.test(err.message) && /SLIPWAY_SECRET_KEY/.test(err.message);
      });
    } finally {
      await store.close();
    }
  });
});
