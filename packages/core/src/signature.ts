import { createHmac, timingSafeEqual } from "node:crypto";

export type HmacAlgorithm = "sha1" | "sha256";

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Compares two strings in time that depends on their length only. On a length mismatch
 * it still runs one comparison, so the answer does not come back sooner for it.
 */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** Lower-case hex HMAC of the raw bytes, as forges send it. */
export function hmacHex(algorithm: HmacAlgorithm, secret: string, body: Buffer): string {
  return createHmac(algorithm, secret).update(body).digest("hex");
}

/** Whether `signatureHex` (either case) is the HMAC of `body`. False for empty or non-hex input. */
export function verifyHmac(
  algorithm: HmacAlgorithm,
  secret: string,
  body: Buffer,
  signatureHex: string,
): boolean {
  if (!HEX.test(signatureHex)) return false;
  return safeEqual(hmacHex(algorithm, secret, body), signatureHex.toLowerCase());
}
