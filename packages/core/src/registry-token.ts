import { createHash, createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";

/**
 * Docker's registry token authentication (Distribution 2.8, `auth.token`): Slipway signs the
 * bearer tokens its registry trusts. The registry checks `iss` against its `issuer` and `aud`
 * against its `service`, byte for byte: these two constants go into its configuration too.
 */
export const REGISTRY_TOKEN_ISSUER = "slipway";
export const REGISTRY_TOKEN_SERVICE = "slipway-registry";

/**
 * The subject of the tokens builds push with (`slipway:build:<build id>`). The registry names it as
 * the actor of their pushes: that is how a build's own push is told from one made by hand.
 */
export const BUILD_TOKEN_SUBJECT_PREFIX = "slipway:build:";

/** One entry of a token's `access` claim: what may be done to one resource. */
export interface RegistryAccess {
  /** "repository" (also for `repository(plugin)` scopes), or "registry" for the catalog. */
  type: string;
  /** A repository path without the registry host ("acme/hello"), or "catalog". */
  name: string;
  /** "pull", "push", "delete", or "*" (any). */
  actions: string[];
}

/**
 * `scope` parameters as clients send them (`repository:acme/hello:pull,push`), repeated or joined
 * with spaces (the OAuth form). The type ends at the first ':', the actions start after the last
 * (a name may hold ':' when it names a host and port). Entries for the same resource are merged;
 * malformed ones are dropped, as a token service answers what it can.
 */
export function parseRegistryScopes(scopes: readonly string[]): RegistryAccess[] {
  const merged = new Map<string, RegistryAccess>();
  for (const scope of scopes.flatMap((item) => item.split(" "))) {
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first <= 0 || last === first) continue;
    // A resource class (`repository(plugin)`) changes nothing: Distribution matches type and name only.
    const type = /^([a-z0-9]+)(?:\([a-z0-9]+\))?$/.exec(scope.slice(0, first))?.[1];
    const name = scope.slice(first + 1, last);
    const actions = scope.slice(last + 1).split(",").filter((action) => action !== "");
    if (type === undefined || name === "" || actions.length === 0) continue;
    const key = `${type}\n${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const action of actions) if (!entry.actions.includes(action)) entry.actions.push(action);
    merged.set(key, entry);
  }
  return [...merged.values()];
}

/** What signs registry tokens: a P-256 private key and the id the registry knows its public key by. */
export interface RegistryTokenSigner {
  privateKey: KeyObject;
  /** The key's libtrust id (`libtrustKeyId`): the registry finds the key in its certificate bundle by it. */
  keyId: string;
  issuer: string;
  service: string;
}

export interface RegistryTokenRequest {
  /** Who the token is for; the registry reports it as the actor of what is done with it. */
  subject: string;
  access: RegistryAccess[];
  /** Default 300 s. The registry allows 60 s of clock skew on top. */
  ttlSeconds?: number;
  now?: Date;
}

export interface RegistryToken {
  token: string;
  expiresIn: number;
  /** RFC 3339: docker refuses a token response whose `issued_at` is anything else. */
  issuedAt: string;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * The id libtrust (and so Distribution) gives a public key: SHA-256 of its DER SubjectPublicKeyInfo,
 * the first 240 bits in base32, in groups of four joined by ':'. A private key gives its public key's id.
 */
export function libtrustKeyId(key: KeyObject): string {
  const spki = (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
  const digest = createHash("sha256").update(spki).digest().subarray(0, 30);
  let bits = 0;
  let value = 0;
  let text = "";
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      text += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  // 240 bits are 48 characters exactly: no padding, twelve groups.
  return text.match(/.{4}/g)!.join(":");
}

/**
 * A registry bearer token (ES256). Distribution 2.8 reads `aud` as one string and the times as
 * integers: an array audience or a fractional time makes the token malformed. `nbf` is now, not
 * earlier: the registry's skew allowance covers clocks that differ.
 */
export async function mintRegistryToken(signer: RegistryTokenSigner, request: RegistryTokenRequest): Promise<RegistryToken> {
  const ttlSeconds = request.ttlSeconds ?? 300;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  const now = Math.floor((request.now ?? new Date()).getTime() / 1000);
  const access = request.access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] }));
  const token = await new SignJWT({ access })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: signer.keyId })
    .setIssuer(signer.issuer)
    .setSubject(request.subject)
    .setAudience(signer.service)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomUUID())
    .sign(signer.privateKey);
  return { token, expiresIn: ttlSeconds, issuedAt: new Date(now * 1000).toISOString().replace(".000Z", "Z") };
}
