/**
 * Where an outgoing webhook may be sent (server-side request forgery guard). Pure: the API
 * checks a URL's literal address when a webhook is created, the worker checks every address
 * a host name resolves to right before it connects.
 */

/** What an IP address is, as far as sending webhooks to it goes. */
export type AddressKind =
  | "public"
  /** RFC 1918, shared address space (100.64/10), unique local IPv6 (fc00::/7), site-local. */
  | "private"
  | "loopback"
  | "link_local"
  /** 0.0.0.0/8 and `::`: connecting to it reaches this host. */
  | "unspecified"
  /** Cloud instance metadata services (credentials live there). */
  | "metadata"
  | "multicast"
  /** 240/4, the broadcast address: nothing answers HTTP there. */
  | "reserved";

/** Refused unless the operator allows private targets (SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true). */
const REFUSED_UNLESS_ALLOWED: ReadonlySet<AddressKind> = new Set<AddressKind>(["private", "loopback", "link_local", "unspecified"]);
/** Refused whatever the operator says: no receiver lives there, and metadata services hold credentials. */
const ALWAYS_REFUSED: ReadonlySet<AddressKind> = new Set<AddressKind>(["metadata", "multicast", "reserved"]);

/** Host names of metadata services, refused before any lookup. */
const METADATA_HOSTS: ReadonlySet<string> = new Set(["metadata.google.internal", "metadata.goog", "metadata"]);

const METADATA_V4: ReadonlySet<string> = new Set([
  "169.254.169.254", // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle…
  "169.254.170.2", // AWS ECS task metadata
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud (classic)
  "168.63.129.16", // Azure's host endpoint (WireServer: VM agent, DNS, health probes)
]);
/** fd00:ec2::254, AWS's IPv6 metadata endpoint, as eight 16-bit groups. */
const METADATA_V6: readonly number[][] = [[0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254]];

/** Parses dotted-quad IPv4 ("127.0.0.1"); undefined for anything else. */
export function parseIpv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (/^(0|[1-9][0-9]{0,2})$/.test(part) ? Number(part) : NaN));
  if (bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
  return bytes as [number, number, number, number];
}

/** Parses IPv6 text (compressed, with an IPv4 tail, with a `%zone`) into eight groups. */
export function parseIpv6(text: string): number[] | undefined {
  let rest = text.replace(/^\[|\]$/g, "");
  const zone = rest.indexOf("%");
  if (zone >= 0) rest = rest.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(rest)) return undefined;
  const halves = rest.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string, last: boolean): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (const [index, piece] of pieces.entries()) {
      if (piece.includes(".")) {
        // An IPv4 tail is only allowed at the very end.
        const v4 = last && index === pieces.length - 1 ? parseIpv4(piece) : undefined;
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? "", true) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

type Ipv4Bytes = [number, number, number, number];

function classifyIpv4([a, b, c, d]: Ipv4Bytes): AddressKind {
  if (METADATA_V4.has(`${a}.${b}.${c}.${d}`)) return "metadata";
  if (a === 0) return "unspecified";
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return "link_local";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b >= 64 && b <= 127) return "private";
  if (a === 198 && (b === 18 || b === 19)) return "private";
  if (a >= 224 && a <= 239) return "multicast";
  if (a >= 240) return "reserved";
  return "public";
}

const v4Of = (high: number, low: number): Ipv4Bytes => [high >> 8, high & 0xff, low >> 8, low & 0xff];

/** The more a kind is refused, the earlier it comes: an address that may be read several ways is what its worst reading is. */
const KIND_SEVERITY: readonly AddressKind[] = ["metadata", "multicast", "reserved", "loopback", "link_local", "unspecified", "private", "public"];
const worstOf = (kinds: AddressKind[]): AddressKind =>
  kinds.reduce((worst, kind) => (KIND_SEVERITY.indexOf(kind) < KIND_SEVERITY.indexOf(worst) ? kind : worst), "public");

/**
 * The IPv4 addresses an address of the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) may
 * stand for. The translator's own prefix length (/48 to /96) decides where the IPv4 address sits
 * (RFC 6052 §2.2) and cannot be known here, so every layout whose suffix is zero counts.
 */
function localNat64Candidates(g: (i: number) => number): Ipv4Bytes[] {
  const bits = (from: number, count: number): number => {
    let value = 0;
    for (let bit = from; bit < from + count; bit++) value = value * 2 + ((g(bit >> 4) >> (15 - (bit & 15))) & 1);
    return value;
  };
  // [bit ranges holding the IPv4 address, first bit of the zero suffix] per prefix length (bits 64–71 are skipped).
  const layouts: [[number, number][], number][] = [
    [[[48, 16], [72, 16]], 88], // /48
    [[[56, 8], [72, 24]], 96], // /56
    [[[72, 32]], 104], // /64
    [[[96, 32]], 128], // /96
  ];
  const candidates: Ipv4Bytes[] = [];
  for (const [ranges, suffixFrom] of layouts) {
    if (suffixFrom < 128 && bits(suffixFrom, 128 - suffixFrom) !== 0) continue;
    let v4 = 0;
    for (const [from, count] of ranges) v4 = v4 * 2 ** count + bits(from, count);
    candidates.push([(v4 >>> 24) & 0xff, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]);
  }
  return candidates;
}

function classifyIpv6(groups: number[]): AddressKind {
  const g = (i: number): number => groups[i] ?? 0;
  if (METADATA_V6.some((m) => m.every((value, i) => value === g(i)))) return "metadata";
  const firstSixZero = [0, 1, 2, 3, 4, 5].every((i) => g(i) === 0);
  if (firstSixZero && g(6) === 0 && g(7) === 0) return "unspecified";
  if (firstSixZero && g(6) === 0 && g(7) === 1) return "loopback";
  // Addresses that reach an IPv4 address are what that address is: IPv4-mapped (::ffff:a.b.c.d),
  // the deprecated IPv4-compatible (::a.b.c.d), SIIT's IPv4-translated (::ffff:0:a.b.c.d),
  // NAT64's well-known prefix (64:ff9b::/96) and 6to4 (2002:aabb:ccdd::/48).
  const firstFourZero = [0, 1, 2, 3].every((i) => g(i) === 0);
  if (firstFourZero && g(4) === 0 && (g(5) === 0xffff || g(5) === 0)) return classifyIpv4(v4Of(g(6), g(7)));
  if (firstFourZero && g(4) === 0xffff && g(5) === 0) return classifyIpv4(v4Of(g(6), g(7)));
  if (g(0) === 0x64 && g(1) === 0xff9b && [2, 3, 4, 5].every((i) => g(i) === 0)) return classifyIpv4(v4Of(g(6), g(7)));
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 1) return worstOf(localNat64Candidates(g).map(classifyIpv4));
  if (g(0) === 0x2002) return classifyIpv4(v4Of(g(1), g(2)));
  const first = g(0);
  if ((first & 0xffc0) === 0xfe80) return "link_local";
  if ((first & 0xffc0) === 0xfec0) return "private";
  if ((first & 0xfe00) === 0xfc00) return "private";
  if ((first & 0xff00) === 0xff00) return "multicast";
  return "public";
}

/** What an IP address (v4 dotted quad or any IPv6 text) is; undefined when it is not an IP address. */
export function classifyAddress(address: string): AddressKind | undefined {
  const v4 = parseIpv4(address);
  if (v4) return classifyIpv4(v4);
  const v6 = address.includes(":") ? parseIpv6(address) : undefined;
  return v6 ? classifyIpv6(v6) : undefined;
}

export interface TargetPolicy {
  /** The operator allows private, loopback, link-local and unspecified targets (SLIPWAY_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

const KIND_WORDS: Record<AddressKind, string> = {
  public: "a public address",
  private: "a private address",
  loopback: "a loopback address",
  link_local: "a link-local address",
  unspecified: "the unspecified address (this host)",
  metadata: "a cloud metadata address",
  multicast: "a multicast address",
  reserved: "a reserved address",
};

/**
 * Why a webhook may not be sent to this address ("127.0.0.1 is a loopback address…"), or
 * undefined when it may. A string that is not an IP address is refused (names are resolved first).
 */
export function refusedAddress(address: string, policy: TargetPolicy): string | undefined {
  const kind = classifyAddress(address);
  if (kind === undefined) return `${address} is not an IP address`;
  if (ALWAYS_REFUSED.has(kind)) return `${address} is ${KIND_WORDS[kind]}, never a webhook target`;
  if (REFUSED_UNLESS_ALLOWED.has(kind) && !policy.allowPrivate) {
    return `${address} is ${KIND_WORDS[kind]} (the operator may allow such targets: SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true)`;
  }
  return undefined;
}

/** The host of a URL as a literal IP address ("[::1]" → "::1"), or undefined for a name. */
export function literalAddressOf(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[|\]$/g, "");
  return classifyAddress(bare) === undefined ? undefined : bare;
}

/** Whether the host name is a cloud metadata service's (refused before it is looked up). */
export function isMetadataHost(hostname: string): boolean {
  return METADATA_HOSTS.has(hostname.toLowerCase().replace(/\.$/, ""));
}

/** `reason` is a sentence on its own ("127.0.0.1 is a loopback address…", "the URL is not http or https…"). */
export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Checks a webhook URL as far as can be known without a lookup: an http(s) URL without
 * credentials, whose host, when it is a literal address, is allowed. Host names are checked
 * again, address by address, when a delivery is sent.
 */
export function checkWebhookUrl(raw: string, policy: TargetPolicy): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "it is not a URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: `the URL is not http or https (${url.protocol})` };
  if (url.username !== "" || url.password !== "") {
    return { ok: false, reason: "the URL holds credentials: give the webhook a secret instead, and check its signature" };
  }
  if (url.hostname === "") return { ok: false, reason: "the URL has no host" };
  if (isMetadataHost(url.hostname)) return { ok: false, reason: `${url.hostname} is a cloud metadata service, never a webhook target` };
  const literal = literalAddressOf(url.hostname);
  if (literal !== undefined) {
    const refused = refusedAddress(literal, policy);
    if (refused) return { ok: false, reason: refused };
  }
  return { ok: true, url };
}
