import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { decodeProtectedHeader, jwtVerify } from "jose";
import {
  libtrustKeyId,
  mintRegistryToken,
  parseRegistryScopes,
  REGISTRY_TOKEN_ISSUER,
  REGISTRY_TOKEN_SERVICE,
  type RegistryAccess,
} from "./registry-token.js";

describe("parseRegistryScopes", () => {
  const cases: [string, string[], RegistryAccess[]][] = [
    // What docker sends (research §2.1): a push, a pull, a push with a cross-repository mount.
    ["push", ["repository:alice/app:push,pull"], [{ type: "repository", name: "alice/app", actions: ["push", "pull"] }]],
    ["pull", ["repository:alice/app:pull"], [{ type: "repository", name: "alice/app", actions: ["pull"] }]],
    [
      "repeated parameter",
      ["repository:alice/app:push,pull", "repository:bob/base:pull"],
      [
        { type: "repository", name: "alice/app", actions: ["push", "pull"] },
        { type: "repository", name: "bob/base", actions: ["pull"] },
      ],
    ],
    [
      "space-joined (OAuth form)",
      ["repository:alice/app:pull registry:catalog:*"],
      [
        { type: "repository", name: "alice/app", actions: ["pull"] },
        { type: "registry", name: "catalog", actions: ["*"] },
      ],
    ],
    ["resource class", ["repository(plugin):alice/plug:pull"], [{ type: "repository", name: "alice/plug", actions: ["pull"] }]],
    ["name with a host and port", ["repository:127.0.0.1:5000/alice/app:pull"], [{ type: "repository", name: "127.0.0.1:5000/alice/app", actions: ["pull"] }]],
    [
      "same resource twice: merged",
      ["repository:alice/app:pull", "repository:alice/app:push,pull"],
      [{ type: "repository", name: "alice/app", actions: ["pull", "push"] }],
    ],
    ["empty actions dropped", ["repository:alice/app:pull,,push,"], [{ type: "repository", name: "alice/app", actions: ["pull", "push"] }]],
    ["no scope", [], []],
    ["empty string", [""], []],
    ["extra spaces", ["  repository:alice/app:pull  "], [{ type: "repository", name: "alice/app", actions: ["pull"] }]],
  ];
  for (const [name, scopes, expected] of cases) {
    it(name, () => assert.deepEqual(parseRegistryScopes(scopes), expected));
  }

  const malformed = ["repository", "repository:alice/app", ":alice/app:pull", "repository::pull", "repository:alice/app:", "repository:alice/app:,", "Repo(x:a:pull", "repository(:a:pull"];
  for (const scope of malformed) {
    it(`drops ${JSON.stringify(scope)}`, () => assert.deepEqual(parseRegistryScopes([scope]), []));
  }
  it("keeps the good scopes beside a malformed one", () => {
    assert.deepEqual(parseRegistryScopes(["nonsense", "repository:a/b:pull"]), [{ type: "repository", name: "a/b", actions: ["pull"] }]);
  });
});

describe("libtrustKeyId", () => {
  it("matches libtrust for a key the registry accepted (research §3.2, checked with openssl and base32)", () => {
    const key = createPublicKey(
      [
        "-----BEGIN PUBLIC KEY-----",
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEQKSLjfoLqB7pUvceT4EkZz4o3s7",
        "G3FtSXodNHZpAGuGUUBU0c1ZziOze1mpLgdcxF4EphzmB2iCeambPn/VLA==",
        "-----END PUBLIC KEY-----",
      ].join("\n"),
    );
    assert.equal(libtrustKeyId(key), "GNWQ:DFY3:27BY:VVPQ:TJJ4:VT7G:Q4KS:E4EW:JOZL:77LK:AE5Z:EWUW");
  });

  it("gives a private key its public key's id", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    assert.equal(libtrustKeyId(privateKey), libtrustKeyId(publicKey));
    assert.match(libtrustKeyId(privateKey), /^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$/);
  });
});

describe("mintRegistryToken", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = { privateKey, keyId: libtrustKeyId(privateKey), issuer: REGISTRY_TOKEN_ISSUER, service: REGISTRY_TOKEN_SERVICE };
  const access: RegistryAccess[] = [{ type: "repository", name: "acme/hello", actions: ["pull", "push"] }];

  it("signs ES256 with the key id, and the claims Distribution 2.8 parses", async () => {
    const now = new Date("2026-11-23T04:21:40.750Z");
    const minted = await mintRegistryToken(signer, { subject: "slipway:build:b1", access, now });
    assert.deepEqual(decodeProtectedHeader(minted.token), { alg: "ES256", typ: "JWT", kid: signer.keyId });
    const { payload } = await jwtVerify(minted.token, publicKey, {
      algorithms: ["ES256"],
      issuer: "slipway",
      audience: "slipway-registry",
      currentDate: now,
    });
    const iat = Math.floor(now.getTime() / 1000);
    assert.deepEqual(
      { ...payload, jti: "" },
      { iss: "slipway", sub: "slipway:build:b1", aud: "slipway-registry", iat, nbf: iat, exp: iat + 300, jti: "", access },
    );
    // A string, not an array: Distribution 2.8 refuses a token whose aud is an array.
    assert.equal(typeof payload.aud, "string");
    assert.match(payload.jti ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(minted, { token: minted.token, expiresIn: 300, issuedAt: "2026-11-23T04:21:40Z" });
  });

  it("takes the lifetime asked for, and a fresh jti each time", async () => {
    const a = await mintRegistryToken(signer, { subject: "alice", access: [], ttlSeconds: 900 });
    const b = await mintRegistryToken(signer, { subject: "alice", access: [], ttlSeconds: 900 });
    const { payload } = await jwtVerify(a.token, publicKey);
    assert.equal(a.expiresIn, 900);
    assert.equal(payload.exp! - payload.iat!, 900);
    assert.deepEqual(payload["access"], []);
    assert.notEqual(payload.jti, (await jwtVerify(b.token, publicKey)).payload.jti);
    assert.match(a.issuedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("does not share the caller's arrays with the token", async () => {
    const mine: RegistryAccess[] = [{ type: "repository", name: "a/b", actions: ["pull"] }];
    const minted = mintRegistryToken(signer, { subject: "alice", access: mine });
    mine[0]!.actions.push("push");
    const { payload } = await jwtVerify((await minted).token, publicKey);
    assert.deepEqual(payload["access"], [{ type: "repository", name: "a/b", actions: ["pull"] }]);
  });

  it("is refused by another key", async () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { token } = await mintRegistryToken(signer, { subject: "alice", access });
    await assert.rejects(jwtVerify(token, other.publicKey), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
  });

  for (const ttlSeconds of [0, -5, 1.5, Number.NaN]) {
    it(`refuses a lifetime of ${ttlSeconds}`, async () => {
      await assert.rejects(mintRegistryToken(signer, { subject: "alice", access, ttlSeconds }), RangeError);
    });
  }
});
