import { createLogMasker } from "@slipway/core";
import type { BuildEventBus } from "@slipway/queue";
import type { Store } from "@slipway/store";

export interface BuildLog {
  /** Adds text to the log; it reaches the store and live followers within `flushMs`. */
  write(text: string): void;
  /** A line of Slipway's own, set apart from the tools' output. */
  line(text: string): void;
  /** Masks these values too, in everything not yet written out. */
  addSecrets(secrets: readonly string[]): void;
  /**
   * Writes out everything still buffered, including a tail held back because it could be the
   * start of a secret: call it when the output is complete (a secret split across a flush is
   * not recognised).
   */
  flush(): Promise<void>;
}

/**
 * The build's log as it streams: buffered briefly so a chatty build does not become one
 * database write per line, stored in order (one write at a time), then announced to
 * followers with its sequence number. Every secret is masked (`****`) before the text is
 * stored, however the tools' output splits it: a tail that could be the start of a secret
 * waits for the next write (or the final flush).
 */
export function createBuildLog(options: {
  buildId: string;
  store: Store;
  bus: BuildEventBus;
  flushMs?: number;
  maxBuffer?: number;
  /** Values never to show: secret build variables. Empty ones are ignored. */
  secrets?: readonly string[];
  onError: (err: unknown) => void;
}): BuildLog {
  const { buildId, store, bus } = options;
  const flushMs = options.flushMs ?? 100;
  const maxBuffer = options.maxBuffer ?? 16 * 1024;
  let buffer = "";
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const masker = createLogMasker(options.secrets ?? []);

  function drain(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === "") return chain;
    const data = buffer;
    buffer = "";
    chain = chain.then(async () => {
      try {
        const seq = await store.appendBuildLog(buildId, data);
        await bus.publish({ type: "log", buildId, seq, data });
      } catch (err) {
        options.onError(err);
      }
    });
    return chain;
  }

  function write(text: string): void {
    const masked = masker.push(text);
    if (masked === "") return;
    buffer += masked;
    if (buffer.length >= maxBuffer) void drain();
    else timer ??= setTimeout(() => void drain(), flushMs);
  }

  return {
    write,
    line(text) {
      write(`▸ ${text}\n`);
    },
    addSecrets(secrets) {
      masker.add(secrets);
    },
    flush() {
      buffer += masker.end();
      return drain();
    },
  };
}
