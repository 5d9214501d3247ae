import { Worker } from "node:worker_threads";
import type { DeliveryToRecord, RecordedDelivery } from "./types.js";

/** Where a store hands Store.recordDeliveries when it does not run it on its own connection. */
export interface DeliveryWriter {
  recordDeliveries(items: DeliveryToRecord[]): Promise<RecordedDelivery[]>;
  close(): Promise<void>;
}

/** What the thread is asked (sqlite-writer-thread.ts). */
export interface WriteRequest {
  id: number;
  items: DeliveryToRecord[];
}

/** What the thread answers: the recorded deliveries, or why it could not record them. */
export type WriteReply = { id: number; recorded: RecordedDelivery[] } | { id: number; error: { message: string; code?: unknown } };

interface Pending {
  resolve(recorded: RecordedDelivery[]): void;
  reject(err: Error): void;
}

/**
 * Records deliveries on a thread of its own, with its own connection to the same SQLite file.
 * better-sqlite3 runs queries to completion on the calling thread, so on the API's thread every
 * commit of the webhook path (the inserts, the WAL write, a checkpoint now and then) would hold
 * up every other request; on this one it runs beside them, on another core. The transaction and
 * its guarantees are the store's own (the thread runs the same recordDeliveries), and the caller
 * hears back only once it has committed: a later read on any connection sees it.
 * The thread starts on first use, so a process that records no delivery never starts it.
 */
export function createSqliteDeliveryWriter(databaseUrl: string): DeliveryWriter {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  function failAll(err: Error): void {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }

  function start(): Worker {
    const thread = new Worker(new URL("./sqlite-writer-thread.js", import.meta.url), { workerData: { databaseUrl } });
    thread.on("message", (reply: WriteReply) => {
      const p = pending.get(reply.id);
      if (p === undefined) return;
      pending.delete(reply.id);
      if (pending.size === 0) thread.unref();
      if ("recorded" in reply) p.resolve(reply.recorded);
      else p.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    // A thread that dies takes its transactions with it (none committed unanswered is lost:
    // the caller was not told "recorded"); the next delivery starts a new one.
    thread.on("error", (err) => {
      if (worker === thread) worker = undefined;
      failAll(new Error(`the SQLite writer thread failed: ${err.message}`, { cause: err }));
    });
    thread.on("exit", (code) => {
      if (worker === thread) worker = undefined;
      failAll(new Error(`the SQLite writer thread stopped (exit code ${code})`));
    });
    return thread;
  }

  return {
    recordDeliveries(items) {
      if (items.length === 0) return Promise.resolve([]);
      worker ??= start();
      const thread = worker;
      const id = nextId++;
      return new Promise<RecordedDelivery[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Kept alive only while it has work: an idle writer never holds the process open.
        thread.ref();
        // Only the records go across (a caller's item may carry more, e.g. its callbacks).
        thread.postMessage({ id, items: items.map(({ delivery, builds }) => ({ delivery, builds })) } satisfies WriteRequest);
      });
    },
    async close() {
      const thread = worker;
      worker = undefined;
      if (thread !== undefined) await thread.terminate();
    },
  };
}
