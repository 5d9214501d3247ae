import type { HmacAlgorithm } from "../signature.js";
import { verifyHmac } from "../signature.js";
import type { VerifyResult } from "./types.js";

const PREFIXES: Readonly<Record<string, HmacAlgorithm>> = { sha256: "sha256", sha1: "sha1" };
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Checks an `X-Hub-Signature(-256)` value, `<algorithm>=<hex HMAC of the body>`. The algorithm
 * is the prefix's: `X-Hub-Signature` is SHA-1 on GitHub and Gitea but SHA-256 on Bitbucket.
 * An empty value or digest (Gitea sends `sha1=` when the hook has no secret) is unsigned.
 */
export function verifyHubSignature(header: string | undefined, rawBody: Buffer, secret: string): VerifyResult {
  if (header === undefined) return { ok: false, reason: "missing" };
  const value = header.trim();
  if (value === "") return { ok: false, reason: "empty" };
  const eq = value.indexOf("=");
  const algorithm = eq === -1 ? undefined : PREFIXES[value.slice(0, eq).toLowerCase()];
  if (algorithm === undefined) return { ok: false, reason: "malformed" };
  return verifyHexDigest(algorithm, value.slice(eq + 1), rawBody, secret);
}

/** Checks a bare hex HMAC (Gitea's `X-Gitea-Signature`). An empty digest is unsigned. */
export function verifyHexDigest(
  algorithm: HmacAlgorithm,
  digest: string,
  rawBody: Buffer,
  secret: string,
): VerifyResult {
  const hex = digest.trim();
  if (hex === "") return { ok: false, reason: "empty" };
  if (!HEX.test(hex)) return { ok: false, reason: "malformed" };
  return verifyHmac(algorithm, secret, rawBody, hex) ? { ok: true } : { ok: false, reason: "mismatch" };
}
