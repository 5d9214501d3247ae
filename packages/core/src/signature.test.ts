import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { hmacHex, safeEqual, verifyHmac } from "./signature.js";

describe("safeEqual", () => {
  const cases: [string, string, boolean][] = [
    ["", "", true],
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["abc", "abcd", false],
    ["abcd", "abc", false],
    ["é", "e", false],
    ["", "a", false],
  ];
  for (const [a, b, expected] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)} → ${expected}`, () => assert.equal(safeEqual(a, b), expected));
  }
});

describe("hmacHex / verifyHmac", () => {
  const body = Buffer.from('{"zen":"Keep it logically awesome."}');
  const secret = "It's a Secret to Everybody";

  for (const algorithm of ["sha1", "sha256"] as const) {
    const expected = createHmac(algorithm, secret).update(body).digest("hex");
    it(`${algorithm}: matches node:crypto`, () => assert.equal(hmacHex(algorithm, secret, body), expected));
    it(`${algorithm}: verifies the right digest, either case`, () => {
      assert.equal(verifyHmac(algorithm, secret, body, expected), true);
      assert.equal(verifyHmac(algorithm, secret, body, expected.toUpperCase()), true);
    });
    const rejected: [string, string][] = [
      ["empty", ""],
      ["non-hex", "z".repeat(expected.length)],
      ["prefixed", `${algorithm}=${expected}`],
      ["truncated", expected.slice(0, -2)],
      ["one digit off", expected.slice(0, -1) + (expected.endsWith("0") ? "1" : "0")],
      ["other secret", createHmac(algorithm, "other").update(body).digest("hex")],
    ];
    for (const [name, signature] of rejected) {
      it(`${algorithm}: rejects ${name}`, () => assert.equal(verifyHmac(algorithm, secret, body, signature), false));
    }
  }

  it("GitHub's documented example", () => {
    // docs.github.com "Validating webhook deliveries": secret and body give this digest.
    assert.equal(
      hmacHex("sha256", "It's a Secret to Everybody", Buffer.from("Hello, World!")),
      "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
  });
});
