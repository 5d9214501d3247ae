/**
 * A registry that trusts Slipway: Docker's token authentication with Slipway as the token service,
 * and push notifications to Slipway.
 */
export interface RegistryAuthOptions {
  /** Slipway's token endpoint (`…/v2/token`): the Docker engine calls it, so it must reach it. */
  realm: string;
  /** Must equal the `iss` of Slipway's tokens (REGISTRY_TOKEN_ISSUER). */
  issuer: string;
  /** Must equal their `aud` (REGISTRY_TOKEN_SERVICE). */
  service: string;
  /** PEM certificate(s) carrying the public key the tokens are signed with. Read when the registry starts. */
  certificatePath: string;
  /** Where the registry POSTs its push events, with `Authorization: Bearer <secret>`; none when left out. */
  events?: { url: string; secret: string };
}

export interface RegistryConfigOptions {
  /** host:port to listen on. */
  address: string;
  storageDir: string;
  /** Signs the registry's upload state: the same on every replica, and across restarts. */
  httpSecret: string;
  /** Without it the registry is open: anyone who reaches it may pull and push (the test stacks). */
  auth?: RegistryAuthOptions;
  /** Default: warn with `auth`, info without. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/**
 * The configuration file of Distribution 2.8 (`docker-registry serve <file>`). Strings are written
 * as JSON, which YAML reads as strings: a path with spaces or colons stays one value.
 */
export function registryConfigYaml(options: RegistryConfigOptions): string {
  const { auth } = options;
  const string = (value: string): string => JSON.stringify(value);
  const lines = [
    "version: 0.1",
    "log:",
    // At info it logs each notification endpoint with its headers: the events secret.
    `  level: ${options.logLevel ?? (auth === undefined ? "info" : "warn")}`,
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${string(options.storageDir)}`,
    "  delete:",
    "    enabled: true",
    "  cache:",
    "    blobdescriptor: inmemory",
    "http:",
    `  addr: ${string(options.address)}`,
    `  secret: ${string(options.httpSecret)}`,
  ];
  if (auth !== undefined) {
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${string(auth.realm)}`,
      `    service: ${string(auth.service)}`,
      `    issuer: ${string(auth.issuer)}`,
      `    rootcertbundle: ${string(auth.certificatePath)}`,
    );
  }
  if (auth?.events !== undefined) {
    lines.push(
      "notifications:",
      "  endpoints:",
      "    - name: slipway",
      `      url: ${string(auth.events.url)}`,
      "      headers:",
      // Header values are lists.
      `        Authorization: [${string(`Bearer ${auth.events.secret}`)}]`,
      "      timeout: 2s",
      "      threshold: 5",
      "      backoff: 1s",
      "      ignore:",
      // Blob events are noise. Distribution 2.8.2 also ignores `actions` unless a media type is listed.
      "        mediatypes: [application/octet-stream]",
      "        actions: [pull]",
    );
  }
  return `${lines.join("\n")}\n`;
}
