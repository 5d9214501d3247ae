import type { BuildStatus } from "@slipway/core";
import type { Redis } from "ioredis";

/**
 * Live build events between processes, over Redis pub/sub. The store stays the record;
 * these only tell listeners (log followers, the dashboard, workers) to look now.
 */
export type BuildEvent =
  | { type: "log"; buildId: string; seq: number; data: string }
  | { type: "status"; buildId: string; status: BuildStatus }
  | { type: "cancel"; buildId: string };

function channel(prefix: string, buildId: string): string {
  return `${prefix}:build-events:${buildId}`;
}

export interface BuildEventBus {
  publish(event: BuildEvent): Promise<void>;
  /** Calls `listener` for every event of this build until the returned function is called. */
  subscribe(buildId: string, listener: (event: BuildEvent) => void): Promise<() => Promise<void>>;
  /** Every build's events (workers listen for cancels this way). */
  subscribeAll(listener: (event: BuildEvent) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * One publisher connection and one subscriber connection per process, however many
 * builds are followed: listeners are fanned out in memory.
 */
export function createBuildEventBus(options: { publisher: Redis; subscriber: Redis; prefix: string }): BuildEventBus {
  const { publisher, subscriber, prefix } = options;
  const listeners = new Map<string, Set<(event: BuildEvent) => void>>();
  const pattern = `${prefix}:build-events:*`;

  subscriber.on("pmessage", (_pattern: string, name: string, message: string) => {
    let event: BuildEvent;
    try {
      event = JSON.parse(message) as BuildEvent;
    } catch (err) {
      subscriber.emit("error", err);
      return;
    }
    for (const key of [name, pattern]) {
      for (const listener of listeners.get(key) ?? []) listener(event);
    }
  });

  let subscribed: Promise<unknown> | undefined;

  async function add(key: string, listener: (event: BuildEvent) => void): Promise<() => Promise<void>> {
    let set = listeners.get(key);
    if (!set) {
      set = new Set();
      listeners.set(key, set);
    }
    set.add(listener);
    subscribed ??= subscriber.psubscribe(pattern);
    await subscribed;
    return async () => {
      set.delete(listener);
      if (set.size === 0) listeners.delete(key);
      if (listeners.size === 0 && subscribed) {
        subscribed = undefined;
        await subscriber.punsubscribe(pattern);
      }
    };
  }

  return {
    async publish(event) {
      await publisher.publish(channel(prefix, event.buildId), JSON.stringify(event));
    },
    subscribe: (buildId, listener) => add(channel(prefix, buildId), listener),
    subscribeAll: (listener) => add(pattern, listener),
    async close() {
      listeners.clear();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
