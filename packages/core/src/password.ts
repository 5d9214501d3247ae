import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { SlipwayError } from "./errors.js";

/**
 * Password hashing with scrypt (node:crypto; Node 20 has no Argon2). OWASP's parameters: N = 2^17,
 * r = 8, p = 1, a 16-byte salt and a 32-byte key. The parameters are stored with the hash
 * (`scrypt$ln=17,r=8,p=1$<salt>$<key>`) so that they can be raised later, and older hashes still verify.
 */
export const DEFAULT_PASSWORD_COST = 17;
const KEY_LENGTH = 32;
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A password a user may choose; SlipwayError("validation_failed") says why not. */
export function checkNewPassword(password: unknown): string {
  if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) {
    throw new SlipwayError("validation_failed", `"password" must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) throw new SlipwayError("validation_failed", `"password" must be at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

/** `cost` is log2 of scrypt's N: 17 by default (about 0.5 s and 128 MiB here); tests may use less. */
export async function hashPassword(password: string, cost: number = DEFAULT_PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost, 8, 1);
  return `scrypt$ln=${cost},r=8,p=1$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Whether the password matches the stored hash; false for a hash it cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = /^scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match) return false;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 10 || ln > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(match[5]!, "base64");
  const key = await derive(password, Buffer.from(match[4]!, "base64"), ln, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
