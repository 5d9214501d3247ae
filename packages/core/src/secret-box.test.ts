import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SlipwayError } from "./errors.js";
import { createSecretBox, generateToken } from "./secret-box.js";

const CANNOT_DECRYPT = "stored secret cannot be decrypted: was SLIPWAY_SECRET_KEY changed?";

function flipChar(text: string, index: number): string {
  const char = text[index] === "A" ? "B" : "A";
  return text.slice(0, index) + char + text.slice(index + 1);
}

describe("createSecretBox", () => {
  const box = createSecretBox(generateToken());

  for (const plain of ["", "hunter2", "ghp_" + "x".repeat(36), "ünïcødé ✓ 🔑", "x".repeat(100_000)]) {
    it(`round trip of ${plain.length} characters`, () => {
      const sealed = box.seal(plain);
      assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]*$/);
      assert.equal(box.open(sealed), plain);
    });
  }

  it("never shows the plaintext and draws a fresh IV each time", () => {
    const a = box.seal("hunter2");
    const b = box.seal("hunter2");
    assert.notEqual(a, b);
    assert.ok(!a.includes("hunter2") && !a.includes(Buffer.from("hunter2").toString("base64url")));
  });

  it("the same key string opens what another box sealed", () => {
    const key = generateToken();
    assert.equal(createSecretBox(key).open(createSecretBox(key).seal("shared")), "shared");
  });

  const sealed = box.seal("a credential worth protecting");
  const [version = "", iv = "", tag = "", data = ""] = sealed.split(".");
  const tampered: [string, string][] = [
    ["ciphertext", [version, iv, tag, flipChar(data, 0)].join(".")],
    ["tag", [version, iv, flipChar(tag, 0), data].join(".")],
    ["iv", [version, flipChar(iv, 0), tag, data].join(".")],
    ["truncated ciphertext", [version, iv, tag, data.slice(0, -2)].join(".")],
  ];
  for (const [name, value] of tampered) {
    it(`tampered ${name}: internal_error naming the key`, () => {
      assert.throws(
        () => box.open(value),
        (err: unknown) => err instanceof SlipwayError && err.code === "internal_error" && err.message === CANNOT_DECRYPT,
      );
    });
  }

  it("another key: internal_error naming the key", () => {
    assert.throws(
      () => createSecretBox(generateToken()).open(sealed),
      (err: unknown) => err instanceof SlipwayError && err.code === "internal_error" && err.message === CANNOT_DECRYPT,
    );
  });

  for (const malformed of ["", "plain text", "v2.a.b.c", `${version}.${iv}.${tag}`, `${version}.${iv}.${tag}.${data}.x`, `${version}.!!.${tag}.${data}`]) {
    it(`malformed ${JSON.stringify(malformed.slice(0, 12))}: internal_error without the value`, () => {
      assert.throws(
        () => box.open(malformed),
        (err: unknown) => err instanceof SlipwayError && err.code === "internal_error" && (malformed === "" || !err.message.includes(malformed)),
      );
    });
  }

  it("refuses an empty key", () => {
    assert.throws(() => createSecretBox(""), SlipwayError);
  });
});

describe("generateToken", () => {
  it("is base64url of the given number of random bytes", () => {
    const token = generateToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, "base64url").length, 32);
    assert.equal(Buffer.from(generateToken(16), "base64url").length, 16);
    assert.notEqual(generateToken(), generateToken());
  });

  for (const bytes of [0, -1, 1.5, Number.NaN]) {
    it(`refuses ${bytes} bytes`, () => assert.throws(() => generateToken(bytes), RangeError));
  }
});
