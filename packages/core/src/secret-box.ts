import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { SlipwayError } from "./errors.js";

export interface SecretBox {
  /** Encrypts a credential for storage: "v1.<iv>.<tag>.<ciphertext>", base64url parts. */
  seal(plain: string): string;
  /** Decrypts what `seal` made; throws SlipwayError("internal_error") when it cannot. */
  open(sealed: string): string;
}

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** HKDF info: binds the derived key to this use, so the same secret key could serve others. */
const KEY_INFO = "slipway/secret-box/v1";
/** The version is authenticated too, so a sealed value cannot be relabelled. */
const AAD = Buffer.from(VERSION, "utf8");

const CANNOT_DECRYPT = "stored secret cannot be decrypted: was SLIPWAY_SECRET_KEY changed?";

/**
 * AES-256-GCM over credentials kept in the database. The 256-bit key is derived from
 * SLIPWAY_SECRET_KEY with HKDF-SHA256 (no salt: the input is a random generated key, not a
 * password, so a slow KDF such as scrypt buys nothing). Each seal draws a random 12-byte IV.
 */
export function createSecretBox(key: string): SecretBox {
  if (key.length === 0) throw new SlipwayError("internal_error", "the secret key is empty");
  const aesKey = Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), KEY_INFO, 32));

  return {
    seal(plain: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", aesKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(AAD);
      const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(".");
    },

    open(sealed: string): string {
      const parts = sealed.split(".");
      const [version, ivText, tagText, dataText] = parts;
      if (
        parts.length !== 4 ||
        version !== VERSION ||
        ivText === undefined ||
        tagText === undefined ||
        dataText === undefined ||
        ![ivText, tagText, dataText].every((part) => BASE64URL.test(part))
      ) {
        throw new SlipwayError("internal_error", "stored secret is not in the expected format");
      }
      const iv = Buffer.from(ivText, "base64url");
      const tag = Buffer.from(tagText, "base64url");
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new SlipwayError("internal_error", "stored secret is not in the expected format");
      }
      try {
        const decipher = createDecipheriv("aes-256-gcm", aesKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(AAD);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([decipher.update(Buffer.from(dataText, "base64url")), decipher.final()]);
        return plain.toString("utf8");
      } catch (err) {
        // GCM authentication failed: tampered data or another key.
        throw new SlipwayError("internal_error", CANNOT_DECRYPT, { cause: err });
      }
    },
  };
}

/** A random token (webhook secrets, trigger tokens, admin tokens), base64url. */
export function generateToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError("token length must be a positive whole number of bytes");
  return randomBytes(bytes).toString("base64url");
}
