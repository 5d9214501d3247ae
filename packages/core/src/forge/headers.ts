import type { Headers } from "./types.js";

/**
 * One header's value: the first of a repeated header. Names are looked up lower-cased, as
 * node:http gives them, then case-insensitively for headers built by hand.
 */
export function headerValue(headers: Headers, name: string): string | undefined {
  const lower = name.toLowerCase();
  let value = headers[lower];
  if (value === undefined) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === lower);
    value = key === undefined ? undefined : headers[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
