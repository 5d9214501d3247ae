import { createHmac } from "node:crypto";
import { safeEqual } from "../signature.js";
import { headerValue } from "./headers.js";
import type { Headers, VerifyResult } from "./types.js";

const SECRET_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key a secret stands for: `whsec_<base64>` is the decoded bytes, anything else its UTF-8. */
function signingKey(secret: string): Buffer {
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (secret.startsWith(SECRET_PREFIX) && BASE64.test(encoded)) return Buffer.from(encoded, "base64");
  return Buffer.from(secret, "utf8");
}

/** The base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, as Standard Webhooks signs. */
export function standardWebhookSignature(secret: string, id: string, timestamp: string, rawBody: Buffer): string {
  return createHmac("sha256", signingKey(secret)).update(`${id}.${timestamp}.`).update(rawBody).digest("base64");
}

/**
 * Checks Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
 * space-separated `v1,<base64>` entries, any one of which may match). The timestamp is signed
 * but not compared with the clock: this package reads no clock, and a replay carries the same
 * `webhook-id`, which is also the delivery key redeliveries are recognised by.
 */
export function verifyStandardWebhook(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  const header = headerValue(headers, "webhook-signature");
  if (header === undefined) return { ok: false, reason: "missing" };
  if (header.trim() === "") return { ok: false, reason: "empty" };
  const id = headerValue(headers, "webhook-id")?.trim();
  const timestamp = headerValue(headers, "webhook-timestamp")?.trim();
  if (!id || !timestamp || !/^\d+$/.test(timestamp)) return { ok: false, reason: "malformed" };
  const signatures = header
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => entry.slice(3));
  if (signatures.length === 0) return { ok: false, reason: "malformed" };
  const expected = standardWebhookSignature(secret, id, timestamp, rawBody);
  // Every entry is compared, so the time taken does not say which one matched.
  const matches = signatures.map((signature) => safeEqual(signature, expected));
  return matches.includes(true) ? { ok: true } : { ok: false, reason: "mismatch" };
}
