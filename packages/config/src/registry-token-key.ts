import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import { join, resolve } from "node:path";
import { libtrustKeyId } from "@slipway/core";
import { readOrCreateFile } from "./persisted-file.js";
import { selfSignedCertificate } from "./self-signed-certificate.js";

/** The key Slipway signs registry tokens with, and where the registry finds its public half. */
export interface RegistryTokenKey {
  privateKey: KeyObject;
  /** The libtrust id of the key: the `kid` of every token, by which the registry finds the key. */
  keyId: string;
  /** PEM certificate(s) carrying the public key: the registry's `auth.token.rootcertbundle`. */
  certificatePath: string;
  /** The private key, PKCS#8 PEM, mode 0600. */
  keyPath: string;
}

const KEY_FILE = "registry-token.key";
const CERTIFICATE_FILE = "registry-token.crt";

/**
 * The registry token key in the data folder, made on first use: a P-256 key and a self-signed
 * certificate for it. The API (which issues tokens to users), the workers (which mint their own)
 * and the launcher (which configures the registry) may all start at once: they agree on one key.
 */
export function loadRegistryTokenKey(dataDir: string): RegistryTokenKey {
  const keyPath = resolve(join(dataDir, KEY_FILE));
  const certificatePath = resolve(join(dataDir, CERTIFICATE_FILE));
  const privateKey = createPrivateKey(
    readOrCreateFile(keyPath, () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
  );
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`${keyPath} is not a P-256 EC key: registry tokens are signed with ES256`);
  }
  // Made from the key in place, so two processes racing here write certificates for the same key.
  // The certificate is public (mode 0644): a registry running as another user can read it.
  const bundle = readOrCreateFile(certificatePath, () => selfSignedCertificate(privateKey, "Slipway registry tokens"), 0o644);
  // The bundle may hold older certificates besides (key rotation): one must carry this key.
  const certificates = bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const publicKey = createPublicKey(privateKey);
  if (!certificates.some((pem) => new X509Certificate(pem).publicKey.equals(publicKey))) {
    throw new Error(`${certificatePath} has no certificate for the key in ${keyPath}: remove it, and Slipway writes a new one on its next start`);
  }
  return { privateKey, keyId: libtrustKeyId(privateKey), certificatePath, keyPath };
}
