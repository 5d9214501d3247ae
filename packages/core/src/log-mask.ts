/** What a secret becomes in a build log. */
export const SECRET_MASK = "****";

/** Lines of a multi-line secret shorter than this are not masked on their own (see normalise). */
const MIN_LINE_SECRET = 4;

/**
 * Masks secrets in text that arrives in pieces (a build's output), however a secret is split
 * across them. Every occurrence of every secret is covered; occurrences that overlap are one
 * masked run, so the output is the same as masking the whole text at once (`maskSecrets`),
 * whatever the pieces were.
 */
export interface LogMasker {
  /**
   * The next piece of text. Returns what may be written now, masked; holds back a tail that could
   * still become (part of) a secret once more text comes.
   */
  push(text: string): string;
  /** The held-back tail, masked where it holds a whole secret: call when no more text will come. */
  end(): string;
  /** Masks these values too, in everything not yet returned. */
  add(secrets: Iterable<string>): void;
}

export function createLogMasker(secrets: Iterable<string> = []): LogMasker {
  let list = normalise(secrets);
  let pending = "";
  return {
    push(text) {
      pending += text;
      if (list.length === 0) {
        const out = pending;
        pending = "";
        return out;
      }
      const { emitted, held } = scan(pending, list, false);
      pending = held;
      return emitted;
    },
    end() {
      const { emitted } = scan(pending, list, true);
      pending = "";
      return emitted;
    },
    add(more) {
      list = normalise([...list, ...more]);
    },
  };
}

/** `text` with every secret in it masked (overlapping occurrences as one mask). */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  return scan(text, normalise(secrets), true).emitted;
}

/**
 * Empty values are dropped (they would match everywhere). A value of several lines also masks each
 * of its lines, as tools may print them apart (with a prefix, or one per log line); lines shorter
 * than MIN_LINE_SECRET are left out, or a JSON key's lone "}" would mask every brace in the log.
 * A short value given as a whole is masked anyway: a secret of one or two characters masks every
 * such character in the log, which is the price of never showing it.
 */
function normalise(secrets: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    set.add(secret);
    if (!/[\r\n]/.test(secret)) continue;
    for (const line of secret.split(/\r\n|\r|\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_LINE_SECRET) set.add(trimmed);
    }
  }
  return [...set];
}

/**
 * Splits `text` into what can be emitted now (masked) and what must wait. With `final`, nothing waits.
 *
 * A position can be decided only when no secret could start there and run past the end of the text
 * (the text from there on is not a proper prefix of any secret): the first undecided position is
 * `hold`. Before it, every occurrence covering a position lies wholly inside the text. A run of
 * overlapping occurrences that reaches past `hold` may still grow, so the cut moves back to its start.
 */
function scan(text: string, secrets: readonly string[], final: boolean): { emitted: string; held: string } {
  let hold = text.length;
  if (!final) {
    for (const secret of secrets) {
      for (let i = Math.max(0, text.length - secret.length + 1); i < hold; i++) {
        if (secret.startsWith(text.slice(i))) {
          hold = i;
          break;
        }
      }
    }
  }

  const runs = coveredRuns(text, secrets);
  let cut = hold;
  for (const [start, end] of runs) {
    if (start < hold && end > hold) cut = start;
  }

  let emitted = "";
  let at = 0;
  for (const [start, end] of runs) {
    if (end > cut) break;
    emitted += text.slice(at, start) + SECRET_MASK;
    at = end;
  }
  emitted += text.slice(at, cut);
  return { emitted, held: text.slice(cut) };
}

/** Every occurrence of every secret as [start, end), merged where they overlap, in order. */
function coveredRuns(text: string, secrets: readonly string[]): [number, number][] {
  const found: [number, number][] = [];
  for (const secret of secrets) {
    for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + 1)) found.push([i, i + secret.length]);
  }
  found.sort((a, b) => a[0] - b[0]);
  const runs: [number, number][] = [];
  for (const [start, end] of found) {
    const last = runs[runs.length - 1];
    if (last !== undefined && start < last[1]) last[1] = Math.max(last[1], end);
    else runs.push([start, end]);
  }
  return runs;
}
