import { Worker } from "node:worker_threads";

/** How often the checkpoint thread copies the WAL back into the database file. */
export const CHECKPOINT_INTERVAL_MS = 200;

/** SQLite's own default: what a connection goes back to when the checkpoint thread is gone. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * While the thread runs, the connection's own checkpoints only start if the WAL grows this far
 * (64 MB of 4 KB pages), which the thread never lets it do: they are a safety net, not the way.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

/** How long stop() waits for the thread to close its connection before ending it. */
const STOP_TIMEOUT_MS = 5_000;

export interface CheckpointConnection {
  pragma(source: string): unknown;
}

export interface SqliteCheckpoints {
  /**
   * Stops the thread and resolves once it has closed its connection, so that the connection
   * closed next is the file's last: SQLite then checkpoints the whole WAL and removes it.
   */
  stop(): Promise<void>;
}

/**
 * WAL checkpoints on a thread of their own. SQLite runs a checkpoint inside the commit that
 * pushes the WAL past `wal_autocheckpoint` pages: it copies every page back into the database
 * and syncs the file, synchronously, on the committing thread. Under a stream of webhook
 * deliveries that stalled the API's event loop for 10 ms every few hundred milliseconds, and
 * cost a third of what recording a delivery costs (bench/README.md). Here a second connection
 * in a worker thread checkpoints every CHECKPOINT_INTERVAL_MS instead, beside the writes, and
 * the connection's own checkpoints wait for a WAL far larger than the thread ever lets it grow.
 * If the thread dies, the connection checkpoints as SQLite does by default again.
 */
export function startSqliteCheckpoints(file: string, connection: CheckpointConnection, onError: (err: Error) => void): SqliteCheckpoints {
  let stopping = false;
  const worker = new Worker(new URL("./wal-checkpoint-worker.js", import.meta.url), {
    workerData: { file, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  // A background chore: it never keeps the process alive.
  worker.unref();
  connection.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  worker.on("error", (err) => onError(new Error("the SQLite checkpoint thread failed; checkpoints run in the commits again", { cause: err })));
  const exited = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      if (!stopping) connection.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      resolve();
    }),
  );
  return {
    async stop() {
      stopping = true;
      // Kept alive until the thread is gone, so a process closing its store does not end first.
      worker.ref();
      worker.postMessage("stop");
      // A round under way ends first; a thread stuck past that is ended.
      const stuck = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(stuck);
    },
  };
}
