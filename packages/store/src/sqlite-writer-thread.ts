/**
 * The thread of createSqliteDeliveryWriter (delivery-writer.ts): a store of its own on the same
 * SQLite file, recording the deliveries it is sent one request at a time, in their order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createStore } from "./create-store.js";
import type { WriteReply, WriteRequest } from "./delivery-writer.js";

const { databaseUrl } = workerData as { databaseUrl: string };
// This store writes on its own connection: it must not hand its work to yet another thread.
const store = createStore({ databaseUrl, deliveryWriter: "inline" });
const port = parentPort!;

let queue = Promise.resolve();
port.on("message", (request: WriteRequest) => {
  queue = queue.then(async () => {
    let reply: WriteReply;
    try {
      reply = { id: request.id, recorded: await store.recordDeliveries(request.items) };
    } catch (err) {
      const { message, code } = err as { message?: unknown; code?: unknown };
      reply = { id: request.id, error: { message: String(message ?? err), code } };
    }
    port.postMessage(reply);
  });
});
