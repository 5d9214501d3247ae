import { checkWebhookUrl, refusedAddress, type TargetPolicy } from "@slipway/core";
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** One attempt's result, as it is recorded. */
export interface WebhookResponse {
  /** The receiver's HTTP status; null when none came. */
  statusCode: number | null;
  /** Why no status came (refused target, network error, timeout). */
  error: string | null;
  durationMs: number;
  /** The start of the answer's body, truncated. */
  response: string | null;
  /** The target is not allowed (SSRF guard): trying again will not help. */
  refused: boolean;
}

/** Sends one delivery attempt; never throws. */
export type WebhookSender = (request: WebhookRequest) => Promise<WebhookResponse>;

/** Resolves a host name to every address (injectable, so tests can make names resolve anywhere). */
export type ResolveAll = (hostname: string, options: LookupAllOptions) => Promise<LookupAddress[]>;

export interface WebhookSenderOptions extends TargetPolicy {
  /** Longest an attempt may take, answer included. */
  timeoutMs?: number;
  /** How much of the answer is kept. */
  maxResponseBytes?: number;
  resolve?: ResolveAll;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4096;

/** A target the guard refused: recorded as such and never tried again. */
class RefusedTarget extends Error {}

const resolveWithDns: ResolveAll = (hostname, options) =>
  new Promise((resolve, reject) => dnsLookup(hostname, options, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * A `lookup` for the connection that checks every address a name resolves to and hands the
 * socket only checked ones: the address checked is the address connected to, so a name that
 * resolves elsewhere the second time (DNS rebinding) gains nothing.
 */
function createGuardedLookup(policy: TargetPolicy, resolveAll: ResolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, { all: true, family: options.family ?? 0, ...(options.hints !== undefined ? { hints: options.hints } : {}) })
      .then((addresses) => {
        for (const { address } of addresses) {
          const refused = refusedAddress(address, policy);
          if (refused) throw new RefusedTarget(`refused: ${hostname} resolves to ${address}, and ${refused}`);
        }
        const [first] = addresses;
        if (!first) throw new Error(`${hostname} resolves to no address`);
        // net asks for every address when it races IPv4 and IPv6 (autoSelectFamily), else for one.
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, "", 0));
  };
}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) {
    return `timed out after ${Math.round(timeoutMs / 100) / 10} s`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * POSTs deliveries with node's own HTTP client: redirects are not followed (a 3xx is a failed
 * attempt), every attempt is bounded in time, and the answer is read only as far as is kept.
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const policy: TargetPolicy = { allowPrivate: options.allowPrivate };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const lookup = createGuardedLookup(policy, options.resolve ?? resolveWithDns);

  return (request) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const check = checkWebhookUrl(request.url, policy);
    if (!check.ok) {
      return Promise.resolve({ statusCode: null, error: `refused: ${check.reason}`, durationMs: elapsed(), response: null, refused: true });
    }
    const url = check.url;
    const client = url.protocol === "https:" ? https : http;

    return new Promise<WebhookResponse>((resolve) => {
      let settled = false;
      const settle = (result: Omit<WebhookResponse, "durationMs">) => {
        if (settled) return;
        settled = true;
        resolve({ ...result, durationMs: elapsed() });
      };
      const req = client.request(
        url,
        {
          method: "POST",
          headers: { ...request.headers, "Content-Length": String(Buffer.byteLength(request.body)) },
          // A connection of its own: no pooled socket to a host checked under other rules.
          agent: false,
          lookup,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let ended = false;
          const finish = () => {
            const body = Buffer.concat(chunks);
            const truncated = body.length > maxBytes || (body.length === maxBytes && !ended);
            const text = body.subarray(0, maxBytes).toString("utf8");
            res.destroy();
            settle({ statusCode: res.statusCode ?? null, error: null, response: truncated ? `${text}…[truncated]` : text, refused: false });
          };
          res.on("data", (chunk: Buffer) => {
            if (size >= maxBytes) return;
            chunks.push(chunk);
            size += chunk.length;
            if (size >= maxBytes) finish();
          });
          res.on("end", () => {
            ended = true;
            finish();
          });
          // The status is known even when the body breaks off (a timeout, a reset).
          res.on("error", finish);
          res.on("close", finish);
        },
      );
      req.on("error", (err) =>
        settle({ statusCode: null, error: describeError(err, timeoutMs), response: null, refused: err instanceof RefusedTarget }),
      );
      req.end(request.body);
    });
  };
}
