import type { BuildStatus } from "@slipway/core";
import type { Redis } from "ioredis";

/**
 * Live build events between processes, over Redis pub/sub. The store stays the record;
 * these only tell listeners (log followers, the dashboard, workers) to look now. A lost
 * event costs latency, never correctness: listeners re-read the store.
 */
export type BuildEvent =
  | { type: "log"; buildId: string; seq: number; data: string }
  | { type: "status"; buildId: string; status: BuildStatus };

export interface BuildEventBus {
  publish(event: BuildEvent): Promise<void>;
  /** Calls `listener` for this build's events until the returned function is called. */
  subscribe(buildId: string, listener: (event: BuildEvent) => void): Promise<() => Promise<void>>;
  /** Asks whichever worker runs the build to stop it. */
  requestCancel(buildId: string): Promise<void>;
  /** Workers hear cancel requests for every build. */
  onCancel(listener: (buildId: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * One publisher and one subscriber connection per process. Each followed build is one
 * channel, subscribed while someone follows it, so a process only receives the logs it
 * streams; cancels have a channel of their own.
 */
export function createBuildEventBus(options: { publisher: Redis; subscriber: Redis; prefix: string }): BuildEventBus {
  const { publisher, subscriber, prefix } = options;
  const cancelChannel = `${prefix}:build-cancels`;
  const channelOf = (buildId: string) => `${prefix}:build-events:${buildId}`;
  const listeners = new Map<string, Set<(message: string) => void>>();

  subscriber.on("message", (channel: string, message: string) => {
    for (const listener of listeners.get(channel) ?? []) listener(message);
  });

  async function listen(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let set = listeners.get(channel);
    if (!set) {
      set = new Set();
      listeners.set(channel, set);
    }
    set.add(listener);
    // ioredis keeps subscriptions across reconnects; subscribing twice to a channel is harmless.
    await subscriber.subscribe(channel);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      set.delete(listener);
      if (set.size === 0 && listeners.get(channel) === set) {
        listeners.delete(channel);
        await subscriber.unsubscribe(channel);
      }
    };
  }

  function parse(message: string): BuildEvent | undefined {
    try {
      return JSON.parse(message) as BuildEvent;
    } catch (err) {
      subscriber.emit("error", err);
      return undefined;
    }
  }

  return {
    async publish(event) {
      await publisher.publish(channelOf(event.buildId), JSON.stringify(event));
    },
    subscribe: (buildId, listener) =>
      listen(channelOf(buildId), (message) => {
        const event = parse(message);
        if (event) listener(event);
      }),
    async requestCancel(buildId) {
      await publisher.publish(cancelChannel, buildId);
    },
    onCancel: (listener) => listen(cancelChannel, listener),
    async close() {
      listeners.clear();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
