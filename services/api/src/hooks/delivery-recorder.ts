import type { DeliveryToRecord, NewBuild, NewDelivery, RecordedDelivery, Store } from "@slipway/store";
import type { Logger } from "pino";

export interface DeliveryRecorder {
  /** Records a delivery as Store.recordDelivery does; resolves once it is committed. */
  record(delivery: NewDelivery, builds: NewBuild[]): Promise<RecordedDelivery>;
}

interface Waiting extends DeliveryToRecord {
  resolve(recorded: RecordedDelivery): void;
  reject(err: unknown): void;
}

/** Deliveries per transaction at most. */
export const MAX_DELIVERIES_PER_COMMIT = 64;

export interface DeliveryRecorderOptions {
  store: Pick<Store, "recordDeliveries">;
  logger: Logger;
  maxBatch?: number;
}

/**
 * Group commit: deliveries that arrive while the store is busy (or within one turn of the
 * event loop) are recorded together in one transaction, so a burst pays for one commit and
 * one round of statements instead of one per delivery. Nothing waits for a batch to fill: an
 * idle server commits a lone delivery at once. Each caller is answered when its own delivery
 * is committed, never before, so the answer still means "recorded".
 * A failed batch is retried one delivery at a time, so one delivery that cannot be recorded
 * (its repository deleted meanwhile) fails alone, as it would have without the batching.
 * Each commit is logged as one line naming every delivery it recorded: a line (and a write)
 * per delivery cost a tenth of the API's time under load (bench/README.md).
 */
/** A row that broke a constraint, as either database reports it (SQLite's SQLITE_CONSTRAINT_*, PostgreSQL's class 23). */
function isConstraintViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_CONSTRAINT") || /^23\d{3}$/.test(code));
}

export function createDeliveryRecorder(options: DeliveryRecorderOptions): DeliveryRecorder {
  const { store, logger } = options;
  const maxBatch = options.maxBatch ?? MAX_DELIVERIES_PER_COMMIT;
  let waiting: Waiting[] = [];
  let flushing = false;

  async function commit(batch: Waiting[]): Promise<void> {
    let recorded: RecordedDelivery[];
    try {
      recorded = await store.recordDeliveries(batch);
    } catch (err) {
      // One delivery's own fault (its repository deleted meanwhile: a constraint) must not fail the
      // others: they are recorded one by one. A database that is down or busy fails them all at once.
      if (batch.length === 1 || !isConstraintViolation(err)) {
        for (const item of batch) item.reject(err);
        return;
      }
      for (const item of batch) await commit([item]);
      return;
    }
    log(recorded);
    batch.forEach((item, i) => item.resolve(recorded[i]!));
  }

  function log(recorded: RecordedDelivery[]): void {
    const accepted = [];
    const rejected = [];
    for (const { delivery, duplicate } of recorded) {
      // A redelivery wrote nothing here: the receiver records it as a delivery of its own next.
      if (duplicate) continue;
      const { id, status, outcome, reason, buildIds } = delivery;
      if (outcome === "rejected") rejected.push({ delivery: id, status, reason });
      else accepted.push({ delivery: id, status, outcome, builds: buildIds, ...(reason === null ? {} : { reason }) });
    }
    if (accepted.length > 0) logger.info({ deliveries: accepted }, "deliveries recorded");
    if (rejected.length > 0) logger.warn({ deliveries: rejected }, "deliveries rejected");
  }

  async function flush(): Promise<void> {
    try {
      while (waiting.length > 0) {
        const batch = waiting.slice(0, maxBatch);
        waiting = waiting.slice(maxBatch);
        await commit(batch);
      }
    } finally {
      flushing = false;
    }
  }

  return {
    record(delivery, builds) {
      return new Promise<RecordedDelivery>((resolve, reject) => {
        waiting.push({ delivery, builds, resolve, reject });
        if (flushing) return;
        flushing = true;
        // After the current I/O callbacks: the deliveries whose bodies arrived with this one join it.
        setImmediate(() => void flush());
      });
    },
  };
}
