import { isBuildStatus, isTerminal, SlipwayError, toBuildView, type SourceType } from "@slipway/core";
import type { BuildEventBus, BuildEvent } from "@slipway/queue";
import type { BuildRecord, Store } from "@slipway/store";
import { Router, type Request, type Response } from "express";
import type { BuildService } from "../builds/build-service.js";
import { asBody, optionalString, pageLimit, queryString } from "../http/input.js";
import { toQueuedBuildView } from "../views.js";
import { loadBuild, loadRepository } from "../http/access.js";

export interface BuildRouteDeps {
  store: Store;
  builds: BuildService;
  bus: BuildEventBus;
}

export function createBuildRoutes(deps: BuildRouteDeps): Router {
  const { store, builds, bus } = deps;
  const router = Router();

  router.get("/repositories/:namespace/:name/builds", async (req, res) => {
    const repo = await loadRepository(store, req, "read");
    const status = queryString(req.query["status"]);
    if (status !== undefined && !isBuildStatus(status)) {
      throw new SlipwayError("validation_failed", `"status" must be a build status (queued, building, success, failed, …)`);
    }
    const sourceType = queryString(req.query["sourceType"])?.toLowerCase();
    if (sourceType !== undefined && sourceType !== "branch" && sourceType !== "tag") {
      throw new SlipwayError("validation_failed", `"sourceType" must be "branch" or "tag"`);
    }
    const page = await store.listBuilds(repo.id, {
      limit: pageLimit(req.query["limit"]),
      cursor: queryString(req.query["cursor"]),
      status,
      sourceType: sourceType as SourceType | undefined,
      sourceName: queryString(req.query["sourceName"]),
    });
    res.json({ builds: page.items.map(toBuildView), nextCursor: page.nextCursor });
  });

  /** A build by hand: `{"sourceType", "sourceName"}` through the matching rules, or `{"ruleId"}`. */
  router.post("/repositories/:namespace/:name/builds", async (req, res) => {
    const repo = await loadRepository(store, req, "write");
    const body = asBody(req.body);
    const ruleId = optionalString(body, "ruleId");
    let sourceType = optionalString(body, "sourceType")?.toLowerCase();
    let sourceName = optionalString(body, "sourceName");
    if (ruleId !== undefined) {
      const rule = await store.getRule(ruleId);
      if (!rule || rule.repositoryId !== repo.id) throw new SlipwayError("not_found", `no rule ${ruleId} in ${repo.namespace}/${repo.name}`);
      sourceType ??= rule.sourceType;
      if (sourceName === undefined) {
        if (rule.sourceName.startsWith("/")) {
          throw new SlipwayError("validation_failed", `rule ${ruleId} matches a pattern: give "sourceName", the ${rule.sourceType} to build`);
        }
        sourceName = rule.sourceName;
      }
    }
    if (sourceType !== "branch" && sourceType !== "tag") {
      throw new SlipwayError("validation_failed", `give "sourceType" ("branch" or "tag") and "sourceName", or a "ruleId"`);
    }
    if (!sourceName) throw new SlipwayError("validation_failed", `"sourceName" is required`);
    if (!(await store.getSourceOfRepository(repo.id))) {
      throw new SlipwayError("conflict", `${repo.namespace}/${repo.name} has no linked source to build from`);
    }
    const planned = await builds.plan(
      repo,
      { sourceType: sourceType as SourceType, sourceName },
      { commit: "", commitMessage: "" },
      { type: "manual" },
      { autobuildOnly: false, ...(ruleId ? { ruleIds: new Set([ruleId]) } : {}) },
    );
    if (planned.builds.length === 0) {
      throw new SlipwayError("validation_failed", `no build rule of ${repo.namespace}/${repo.name} matches ${sourceType} "${sourceName}"`);
    }
    const started = await builds.start(planned.builds);
    res.status(202).json({ builds: started.map(toQueuedBuildView) });
  });

  router.get("/builds/:id", async (req, res) => {
    const build = await loadBuild(store, req, "read");
    const events = await store.listBuildEvents(build.id);
    res.json({ ...toBuildView(build), timeline: events.map((e) => ({ status: e.status, at: e.at })) });
  });

  router.post("/builds/:id/cancel", async (req, res) => {
    res.status(202).json(toBuildView(await builds.cancel(await loadBuild(store, req, "write"))));
  });

  router.post("/builds/:id/retry", async (req, res) => {
    res.status(202).json(toBuildView(await builds.retry(await loadBuild(store, req, "write"))));
  });

  router.get("/builds/:id/logs", async (req, res) => {
    const build = await loadBuild(store, req, "read");
    const follow = req.query["follow"] === "1" || req.query["follow"] === "true";
    const sse = follow && (req.headers.accept ?? "").includes("text/event-stream");
    if (!follow) {
      const chunks = await store.readBuildLog(build.id);
      res.type("text/plain; charset=utf-8").send(chunks.map((c) => c.data).join(""));
      return;
    }
    await followLog(req, res, build, sse);
  });

  /**
   * Streams the log until the build ends. Subscribes before reading the stored log, so no
   * chunk falls between the two; everything runs in one chain, in order, and a gap in
   * sequence numbers is filled from the store. Events are only hints: a periodic re-read of
   * the record ends the stream even if the last event was lost.
   */
  async function followLog(req: Request, res: Response, build: BuildRecord, sse: boolean): Promise<void> {
    const lastEventId = Number(req.headers["last-event-id"] ?? 0);
    let lastSeq = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0;
    let ended = false;
    // Until the subscription is made, there is nothing to undo.
    let unsubscribe = async (): Promise<void> => {};
    let chain: Promise<void> = Promise.resolve();
    const closed = () => ended || res.destroyed;

    res.status(200);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Accel-Buffering", "no");
    res.type(sse ? "text/event-stream" : "text/plain; charset=utf-8");
    res.flushHeaders();

    const write = (seq: number, data: string) => {
      if (seq <= lastSeq) return;
      lastSeq = seq;
      if (!sse) {
        res.write(data);
        return;
      }
      // Docker's progress output uses bare carriage returns, which also end an SSE line.
      const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`);
      res.write(`id: ${seq}\nevent: log\n${lines.join("\n")}\n\n`);
    };
    const catchUp = async () => {
      for (const chunk of await store.readBuildLog(build.id, lastSeq)) write(chunk.seq, chunk.data);
    };
    const stop = async () => {
      ended = true;
      clearInterval(watch);
      await unsubscribe();
    };
    const finishIfEnded = async () => {
      const now = await store.getBuild(build.id);
      if (now && !isTerminal(now.status)) return;
      await catchUp();
      await stop();
      if (sse) res.write(`event: end\ndata: ${JSON.stringify({ status: now?.status ?? "deleted" })}\n\n`);
      res.end();
    };
    const enqueue = (step: () => Promise<void>) => {
      chain = chain
        .then(() => (closed() ? undefined : step()))
        .catch((err: unknown) => {
          void stop();
          res.destroy(err instanceof Error ? err : new Error(String(err)));
        });
    };

    // Attached before anything is awaited, so a client that leaves early leaks nothing.
    res.on("close", () => void stop());
    const watch = setInterval(() => {
      if (sse) res.write(": keep-alive\n\n");
      enqueue(finishIfEnded);
    }, 15_000);

    unsubscribe = await bus.subscribe(build.id, (event: BuildEvent) => {
      enqueue(async () => {
        if (event.type === "log") {
          if (event.seq === lastSeq + 1) write(event.seq, event.data);
          else if (event.seq > lastSeq) await catchUp();
        } else if (isTerminal(event.status)) {
          await finishIfEnded();
        }
      });
    });
    if (res.destroyed) await stop();
    enqueue(catchUp);
    enqueue(finishIfEnded);
  }

  return router;
}
