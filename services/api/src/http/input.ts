import { SlipwayError } from "@slipway/core";

/** Small readers for JSON request bodies: each names the field that is wrong. */

export type Body = Record<string, unknown>;

export function asBody(value: unknown): Body {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SlipwayError("bad_request", "the request body must be a JSON object");
  }
  return value as Body;
}

export function requiredString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value.trim() === "") {
    throw new SlipwayError("validation_failed", `"${field}" is required and must be a non-empty string`);
  }
  return value.trim();
}

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new SlipwayError("validation_failed", `"${field}" must be a string`);
  return value;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new SlipwayError("validation_failed", `"${field}" must be true or false`);
  return value;
}

export function optionalObject(body: Body, field: string): Body | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new SlipwayError("validation_failed", `"${field}" must be an object`);
  }
  return value as Body;
}

/** `?limit=` between 1 and `max`. */
export function pageLimit(raw: unknown, fallback = 25, max = 100): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new SlipwayError("validation_failed", `"limit" must be an integer from 1 to ${max}`);
  }
  return value;
}

export function queryString(raw: unknown): string | undefined {
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}
