import type { BuildEventBus } from "@slipway/queue";
import type { Store } from "@slipway/store";

export interface BuildLog {
  /** Adds text to the log; it reaches the store and live followers within `flushMs`. */
  write(text: string): void;
  /** A line of Slipway's own, set apart from the tools' output. */
  line(text: string): void;
  /** Writes out everything still buffered. */
  flush(): Promise<void>;
}

/**
 * The build's log as it streams: buffered briefly so a chatty build does not become one
 * database write per line, stored in order (one write at a time), then announced to
 * followers with its sequence number.
 */
export function createBuildLog(options: {
  buildId: string;
  store: Store;
  bus: BuildEventBus;
  flushMs?: number;
  maxBuffer?: number;
  onError: (err: unknown) => void;
}): BuildLog {
  const { buildId, store, bus } = options;
  const flushMs = options.flushMs ?? 100;
  const maxBuffer = options.maxBuffer ?? 16 * 1024;
  let buffer = "";
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

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
    if (text === "") return;
    buffer += text;
    if (buffer.length >= maxBuffer) void drain();
    else timer ??= setTimeout(() => void drain(), flushMs);
  }

  return {
    write,
    line(text) {
      write(`▸ ${text}\n`);
    },
    flush: drain,
  };
}
