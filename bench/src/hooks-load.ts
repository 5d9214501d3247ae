/**
 * The hooks benchmark's load generator, run as a child process (`fork`) so that it shares no event
 * loop with a server under test. It takes one {@link LoadJob} from its parent, sends signed GitHub
 * push deliveries with autocannon, each with a fresh `X-GitHub-Delivery` (the signature covers the
 * body only, so it stays valid), sends back one {@link LoadResult} and exits.
 *
 * At the end of the duration every connection finishes the request it has in flight and then
 * closes (autocannon itself would drop those on the floor): every delivery sent gets its answer
 * counted, so the deliveries a server recorded can be compared with the answers one to one.
 */
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";

export interface LoadJob {
  url: string;
  body: string;
  signature: string;
  connections: number;
  durationS: number;
  /** Send back the delivery ids of the 2xx answers. */
  trackIds: boolean;
}

export interface LoadResult {
  /** First request sent → last answer received, ms. */
  elapsedMs: number;
  sent: number;
  answered2xx: number;
  non2xx: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts: requests that got no answer. */
  errors: number;
  timeouts: number;
  /** Latencies of the 2xx answers, ms, sorted ascending. */
  latenciesMs: number[];
  /** The X-GitHub-Delivery of every 2xx answer, when asked for. */
  answeredIds: string[];
  /** A few non-2xx answers' bodies, to say why. */
  sampleErrors: string[];
}

/** The parts of autocannon's client that the drain touches; not in its published types. */
interface DrainableClient {
  reqsMade: number;
  responseMax: number | undefined;
  on(event: "done", listener: () => void): unknown;
  on(event: "response", listener: (status: number, bytes: number, responseTimeMs: number) => void): unknown;
}

interface DeliveryContext {
  deliveryId?: string;
}

/** Autocannon's guard against a hang: the drain normally ends the run well before this. */
const SAFETY_S = 60;

async function run(job: LoadJob): Promise<LoadResult> {
  const baseHeaders = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/bench",
    "x-github-event": "push",
    "x-github-hook-id": "4242",
    "x-hub-signature-256": job.signature,
  };
  const clients: DrainableClient[] = [];
  const latencies: number[] = [];
  const answeredIds: string[] = [];
  const sampleErrors: string[] = [];
  const statuses: Record<string, number> = {};
  let sent = 0;
  let answered2xx = 0;
  let non2xx = 0;
  let open = job.connections;
  let lastAnswerAt = 0;
  let resolveDrained!: () => void;
  const drained = new Promise<void>((r) => (resolveDrained = r));

  const body = Buffer.from(job.body);
  let resolveFinished!: (result: autocannon.Result) => void;
  let rejectFinished!: (err: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  const start = performance.now();
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationS + SAFETY_S,
    pipelining: 1,
    requests: [
      {
        method: "POST",
        body,
        setupRequest(request, context) {
          const deliveryId = randomUUID();
          (context as DeliveryContext).deliveryId = deliveryId;
          sent++;
          return { ...request, headers: { ...baseHeaders, "x-github-delivery": deliveryId } };
        },
        onResponse(status, body, context) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status < 300) {
            answered2xx++;
            const id = (context as DeliveryContext).deliveryId;
            if (job.trackIds && id !== undefined) answeredIds.push(id);
          } else {
            non2xx++;
            if (sampleErrors.length < 5) sampleErrors.push(`${status} ${body.slice(0, 300)}`);
          }
        },
      },
    ],
    setupClient(client) {
      const c = client as unknown as DrainableClient;
      clients.push(c);
      c.on("response", (status, _bytes, responseTimeMs) => {
        lastAnswerAt = performance.now();
        if (status >= 200 && status < 300) latencies.push(responseTimeMs);
      });
      c.on("done", () => {
        if (--open === 0) resolveDrained();
      });
    },
  }, (err, result) => (err ? rejectFinished(err) : resolveFinished(result)));

  // Drain: a client whose responseMax is reached closes after the answer it waits for.
  const timer = setTimeout(() => {
    for (const c of clients) c.responseMax = Math.max(1, c.reqsMade);
  }, job.durationS * 1000);
  await Promise.race([drained, finished]);
  clearTimeout(timer);
  instance.stop();
  const result = await finished;

  latencies.sort((a, b) => a - b);
  return {
    elapsedMs: (lastAnswerAt || performance.now()) - start,
    sent,
    answered2xx,
    non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latenciesMs: latencies,
    answeredIds,
    sampleErrors,
  };
}

process.once("message", (job: LoadJob) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(`hooks-load: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
});
