import type { BuildQueue } from "@slipway/queue";
import type { Store } from "@slipway/store";
import type { RequestHandler, Router } from "express";
import { Router as createRouter } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics at `GET /metrics`. Build and queue figures are read at scrape time from
 * the store and the queue, so they count every worker's builds, not only this process's.
 */
export function createMetrics(deps: { store: Store; queue: BuildQueue }) {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "slipway_api_" });

  const httpDuration = new Histogram({
    name: "slipway_http_request_duration_seconds",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [register],
  });
  const deliveries = new Counter({
    name: "slipway_deliveries_total",
    help: "Inbound webhook deliveries by forge and outcome",
    labelNames: ["provider", "outcome"] as const,
    registers: [register],
  });
  const up = new Gauge({
    name: "slipway_dependency_up",
    help: "Whether the last scrape could read the part (1) or not (0)",
    labelNames: ["part"] as const,
    registers: [register],
  });
  /** A part that is down leaves its gauge empty and says so, rather than failing the scrape. */
  async function read<T>(part: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await fn();
      up.set({ part }, 1);
      return value;
    } catch {
      up.set({ part }, 0);
      return undefined;
    }
  }
  new Gauge({
    name: "slipway_builds",
    help: "Builds in the store by status",
    labelNames: ["status"] as const,
    registers: [register],
    async collect() {
      this.reset();
      const counts = await read("database", () => deps.store.countBuildsByStatus());
      for (const [status, count] of Object.entries(counts ?? {})) this.set({ status }, count);
    },
  });
  new Gauge({
    name: "slipway_queue_jobs",
    help: "Build jobs in the queue by state",
    labelNames: ["state"] as const,
    registers: [register],
    async collect() {
      this.reset();
      const counts = await read("redis", () => deps.queue.counts());
      for (const [state, count] of Object.entries(counts ?? {})) this.set({ state }, count);
    },
  });

  /** Times every request under its route pattern (never the raw path: ids would explode the label set). */
  const middleware: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer({ method: req.method });
    res.on("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      end({ route, status: String(res.statusCode) });
    });
    next();
  };

  const router: Router = createRouter();
  router.get("/metrics", async (_req, res) => {
    res.type(register.contentType).send(await register.metrics());
  });

  return {
    middleware,
    router,
    /** For a handler that answers outside express's routing (the hooks' hot path). */
    observeRequest(method: string, route: string, status: number, seconds: number) {
      httpDuration.observe({ method, route, status: String(status) }, seconds);
    },
    countDelivery(provider: string | null, outcome: string) {
      deliveries.inc({ provider: provider ?? "unknown", outcome });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
