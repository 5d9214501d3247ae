import { isSlipwayError, maskSecrets, SlipwayError, type SecretBox } from "@slipway/core";
import type { Store } from "@slipway/store";

/** A repository's build variables, opened for one build. */
export interface BuildVariables {
  /** key → value, every variable. */
  values: Record<string, string>;
  /** The secret ones' values: what the build's log, error and Slipway's own log must never show. */
  secrets: string[];
}

/** Reads and opens the repository's variables; SlipwayError("internal_error") when one cannot be opened. */
export async function loadBuildVariables(store: Store, box: SecretBox, repositoryId: string): Promise<BuildVariables> {
  const values: Record<string, string> = {};
  const secrets: string[] = [];
  for (const variable of await store.variables.list(repositoryId)) {
    let value: string;
    try {
      value = box.open(variable.valueEnc);
    } catch (err) {
      // Names the variable, never a value; the box's message says what to check.
      throw new SlipwayError("internal_error", `build variable ${variable.key} cannot be read: ${isSlipwayError(err) ? err.message : "it does not decrypt"}`);
    }
    values[variable.key] = value;
    if (variable.secret) secrets.push(value);
  }
  return { values, secrets };
}

/**
 * The spellings of the secrets to mask: each as it is, and as JSON writes it inside a string
 * (quotes, backslashes and newlines escaped), which is how the engine's answers quote values.
 */
export function secretForms(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s !== "").flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))];
}

/**
 * An error safe to record and log: the same one when it mentions no secret (its causes included),
 * else one of the same code with the secrets masked in its message and no cause.
 */
export function withoutSecrets(err: unknown, secrets: readonly string[]): unknown {
  const forms = secretForms(secrets);
  if (forms.length === 0 || !mentions(err, forms)) return err;
  const masked = maskSecrets(err instanceof Error ? err.message : String(err), forms);
  // Masking may leave a secret in a spelling no form covers (two overlapping forms): then nothing of it.
  const message = mentions(masked, forms) ? "the build failed on a message that held a secret variable's value; see the build log" : masked;
  return isSlipwayError(err) ? new SlipwayError(err.code, message) : new Error(message);
}

/**
 * Whether anything a logger could print of the error holds one of the forms: messages, stacks,
 * own fields (e.g. dockerode's `json`, the engine's answer) and causes. What cannot be read
 * counts as holding one.
 */
function mentions(err: unknown, forms: readonly string[]): boolean {
  const holds = (text: string) => forms.some((form) => text.includes(form));
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null; depth++) {
    if (depth > 8) return true;
    const json = toJson(current);
    if (json === undefined || holds(json)) return true;
    if (!(current instanceof Error)) return typeof current === "string" && holds(current);
    if (holds(current.message) || holds(current.stack ?? "")) return true;
    current = current.cause;
  }
  return false;
}

function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    // Circular or otherwise unprintable: the caller assumes the worst.
    return undefined;
  }
}
