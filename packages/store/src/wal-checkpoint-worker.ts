import { parentPort, workerData } from "node:worker_threads";
import SqliteDatabase from "better-sqlite3";

/**
 * The thread behind sqlite-checkpoints.ts: a connection of its own to the database file that
 * copies the WAL back into it every `intervalMs`. PASSIVE never takes the write lock and never
 * waits for readers: it copies what it can, and the next round copies the rest.
 */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
// A checkpoint never needs the write lock; the timeout only covers a connection being opened meanwhile.
const db = new SqliteDatabase(file, { timeout: 1000 });
db.pragma("synchronous = NORMAL");
// This connection writes nothing, so its own automatic checkpoints would never run; explicit is clearer.
db.pragma("wal_autocheckpoint = 0");

/** Failed rounds in a row after which the thread gives up, and the connection checkpoints by itself again. */
const MAX_FAILURES = 10;
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    failures = 0;
  } catch (err) {
    // A passing trouble (the disk, a lock held while the file is opened) is tried again next round.
    if (++failures >= MAX_FAILURES) throw err;
  }
}, intervalMs);

parentPort!.on("message", (message: unknown) => {
  if (message !== "stop") return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
