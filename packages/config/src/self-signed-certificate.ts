import { createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";

/*
 * Just enough DER to write one X.509 v3 certificate (RFC 5280) by hand: Distribution reads the
 * public key that signs its tokens only from a certificate, and a library or the openssl CLI for
 * one self-signed certificate would be a dependency for forty lines.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const objectId = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, "hex"));

/** UTCTime, YYMMDDHHMMSSZ: RFC 5280 wants it for dates before 2050. */
function utcTime(date: Date): Buffer {
  return tlv(0x17, Buffer.from(`${date.toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`));
}

/** A name with one CN (2.5.4.3), as a UTF8String. */
function commonNameOf(cn: string): Buffer {
  return sequence(tlv(0x31, sequence(objectId("550403"), tlv(0x0c, Buffer.from(cn, "utf8")))));
}

/** ecdsa-with-SHA256 (1.2.840.10045.4.3.2). */
const ECDSA_WITH_SHA256 = sequence(objectId("2a8648ce3d040302"));

/** The last moment UTCTime can say. Distribution does not check the dates of a key it finds by id. */
const NOT_AFTER = new Date("2049-12-31T23:59:59Z");

/**
 * A self-signed certificate for a P-256 key, as PEM: subject and issuer `commonName`, a random
 * serial, valid from a minute before `now` until 2049.
 */
export function selfSignedCertificate(privateKey: KeyObject, commonName: string, now = new Date()): string {
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("a certificate can only be made here for a P-256 (ES256) key");
  }
  // A positive INTEGER in minimal DER: a first byte from 0x01 to 0x7f.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const name = commonNameOf(commonName);
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version: v3
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(new Date(now.getTime() - 60_000)), utcTime(NOT_AFTER)),
    name,
    createPublicKey(privateKey).export({ type: "spki", format: "der" }),
  );
  // node:crypto's default ECDSA signature encoding is DER, which X.509 wants.
  const signature = sign("sha256", tbs, privateKey);
  const der = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}
