import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { libtrustKeyId } from "@slipway/core";
import { loadRegistryTokenKey } from "./registry-token-key.js";
import { selfSignedCertificate } from "./self-signed-certificate.js";

const execFileAsync = promisify(execFile);

describe("loadRegistryTokenKey", () => {
  const dir = mkdtempSync(join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), "slipway-token-key-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("makes a P-256 key and a self-signed certificate that carries it", () => {
    const key = loadRegistryTokenKey(join(dir, "a"));
    assert.equal(key.keyPath, join(dir, "a", "registry-token.key"));
    assert.equal(key.certificatePath, join(dir, "a", "registry-token.crt"));
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(readFileSync(key.keyPath, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
    const certificate = new X509Certificate(readFileSync(key.certificatePath));
    assert.ok(certificate.publicKey.equals(createPublicKey(key.privateKey)));
    assert.ok(certificate.verify(certificate.publicKey), "signed by its own key");
    assert.ok(certificate.checkPrivateKey(key.privateKey));
    assert.equal(certificate.subject, "CN=Slipway registry tokens");
    assert.equal(certificate.issuer, certificate.subject);
    assert.ok(new Date(certificate.validFrom) <= new Date());
    assert.equal(new Date(certificate.validTo).toISOString(), "2049-12-31T23:59:59.000Z");
  });

  it("names the key as Distribution does: the libtrust id of the certificate's public key", () => {
    const key = loadRegistryTokenKey(join(dir, "a"));
    const certificate = new X509Certificate(readFileSync(key.certificatePath));
    assert.equal(key.keyId, libtrustKeyId(certificate.publicKey));
    assert.match(key.keyId, /^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$/);
  });

  it("keeps the key private (0600); the certificate is public (0644)", () => {
    const key = loadRegistryTokenKey(join(dir, "a"));
    assert.equal(statSync(key.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(key.certificatePath).mode & 0o777, 0o644);
  });

  it("reads the same key back on later calls", () => {
    const first = loadRegistryTokenKey(join(dir, "b"));
    const certificate = readFileSync(first.certificatePath, "utf8");
    const second = loadRegistryTokenKey(join(dir, "b"));
    assert.equal(second.keyId, first.keyId);
    assert.ok(second.privateKey.equals(first.privateKey));
    assert.equal(readFileSync(second.certificatePath, "utf8"), certificate);
  });

  it("gives processes that start at once the same key", async () => {
    const target = join(dir, "race");
    const module = new URL("./registry-token-key.js", import.meta.url).href;
    const script = `const { loadRegistryTokenKey } = await import(${JSON.stringify(module)}); console.log(loadRegistryTokenKey(${JSON.stringify(target)}).keyId);`;
    const runs = await Promise.all(Array.from({ length: 6 }, () => execFileAsync(process.execPath, ["--input-type=module", "-e", script])));
    const ids = new Set(runs.map((run) => run.stdout.trim()));
    assert.equal(ids.size, 1, `one key for all: ${[...ids].join(", ")}`);
    assert.equal(loadRegistryTokenKey(target).keyId, [...ids][0]);
  });

  it("accepts a bundle that also holds an older certificate (key rotation)", () => {
    const key = loadRegistryTokenKey(join(dir, "c"));
    const older = selfSignedCertificate(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, "older");
    const current = readFileSync(key.certificatePath, "utf8");
    writeFileSync(key.certificatePath, older + current);
    assert.equal(loadRegistryTokenKey(join(dir, "c")).keyId, key.keyId);
  });

  it("refuses a certificate for another key, saying what to do", () => {
    const key = loadRegistryTokenKey(join(dir, "d"));
    writeFileSync(key.certificatePath, selfSignedCertificate(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, "other"));
    assert.throws(() => loadRegistryTokenKey(join(dir, "d")), /has no certificate for the key in .*registry-token\.key: remove it/);
  });

  it("refuses a key that cannot sign ES256", () => {
    const target = join(dir, "e");
    loadRegistryTokenKey(target);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(join(target, "registry-token.key"), rsa);
    assert.throws(() => loadRegistryTokenKey(target), /is not a P-256 EC key/);
  });

  it("refuses a certificate file that holds none", () => {
    const key = loadRegistryTokenKey(join(dir, "f"));
    writeFileSync(key.certificatePath, "");
    appendFileSync(key.certificatePath, "not a certificate\n");
    assert.throws(() => loadRegistryTokenKey(join(dir, "f")), /has no certificate for the key/);
  });
});
