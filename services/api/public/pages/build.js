import { api } from "../lib/api.js";
import {
  announce,
  buildDuration,
  clock,
  copyLine,
  firstLine,
  formatDuration,
  h,
  message,
  shortId,
  sourceLabel,
  statusBadge,
  TERMINAL,
  timeAgo,
} from "../lib/dom.js";
import { createLogView } from "../lib/log-view.js";
import { poll } from "../lib/router.js";

const STEPS = ["queued", "cloning", "building", "pushing"];
const STEP_NAMES = { queued: "Queued", cloning: "Cloning", building: "Building", pushing: "Pushing" };
const STATE_TEXT = { done: "done", current: "in progress", failed: "failed here", stopped: "stopped here", pending: "not yet", skipped: "not reached" };

/** How a build's end shows on the timeline: success, a failure, or a stop (canceled, superseded). */
const endState = (status) => (status === "success" ? "done" : status === "failed" || status === "timed_out" ? "failed" : "stopped");

/** The steps a build went through, from its recorded status changes. */
export function timelineSteps(build) {
  const events = build.timeline ?? [];
  const at = new Map(events.map((e) => [e.status, e.at]));
  const ended = TERMINAL.has(build.status);
  const end = events.find((e) => TERMINAL.has(e.status));
  const reached = STEPS.filter((s) => at.has(s));
  const last = reached[reached.length - 1];
  const steps = STEPS.map((step, i) => {
    let state = "pending";
    if (at.has(step)) {
      if (step !== last) state = "done";
      else if (!ended) state = "current";
      else state = endState(build.status);
    } else if (ended) {
      state = "skipped";
    }
    const nextAt = STEPS.slice(i + 1).map((s) => at.get(s)).find(Boolean) ?? end?.at ?? (state === "current" ? new Date().toISOString() : undefined);
    const startedAt = at.get(step);
    return { key: step, name: STEP_NAMES[step], state, at: startedAt, took: startedAt && nextAt ? Date.parse(nextAt) - Date.parse(startedAt) : undefined };
  });
  const finalState = ended ? endState(build.status) : "pending";
  steps.push({ key: "done", name: ended ? `Done: ${build.status.replace("_", " ")}` : "Done", state: finalState, at: end?.at, took: undefined });
  return steps;
}

function timeline(build) {
  return h("ol", { class: "timeline", "aria-label": "Status timeline" }, timelineSteps(build).map((step) =>
    h("li", { class: `step step-${step.state}`, ...(step.state === "current" ? { "aria-current": "step" } : {}) },
      h("span", { class: "step-marker", "aria-hidden": "true" }),
      h("span", { class: "step-name" }, step.name),
      h("span", { class: "visually-hidden" }, `: ${STATE_TEXT[step.state]}`),
      h("span", { class: "step-time muted" }, step.at ? clock(step.at) : "", step.took !== undefined ? ` · ${formatDuration(step.took)}` : ""))));
}

function causeText(build) {
  const { cause } = build;
  if (cause.type === "retry" && cause.retryOf) return h("span", {}, "retry of ", h("a", { href: `#/b/${cause.retryOf}` }, `build ${shortId(cause.retryOf)}`));
  if (cause.type === "push") return h("span", {}, "push", cause.delivery ? [" (", h("a", { href: "#/deliveries" }, "delivery"), ")"] : null);
  return h("span", {}, cause.type);
}

function summary(build) {
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h("dl", { class: "facts" },
    row("Branch or tag", sourceLabel(build)),
    row("Commit", build.commit ? h("code", { title: build.commit }, build.commit.slice(0, 12)) : h("span", { class: "muted" }, "the head, once cloned"), build.commitMessage ? [" ", h("span", {}, firstLine(build.commitMessage))] : null),
    row("Tags", build.tags.length ? build.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "none")),
    row("Cause", causeText(build)),
    row("Dockerfile", h("code", {}, build.dockerfile), " in ", h("code", {}, build.context || "/")),
    row("Queued", timeAgo(build.queuedAt)),
    row("Started", clock(build.startedAt)),
    row("Finished", clock(build.finishedAt)),
    row("Duration", formatDuration(buildDuration(build)) || "—"));
}

function pullLines(build) {
  if (!build.digest) return null;
  return h("section", { class: "card", "aria-labelledby": "image-title" },
    h("h2", { id: "image-title" }, "Image"),
    h("p", {}, "Digest ", h("code", { class: "break" }, build.digest)),
    copyLine(`docker pull ${build.image}@${build.digest}`, "Copy the pull command by digest"),
    build.tags.map((tag) => copyLine(`docker pull ${build.image}:${tag}`, `Copy the pull command for ${tag}`)));
}

/** One build: its timeline, its live log, cancel and retry, and its image. */
export async function buildPage(main, ctx) {
  const [id] = ctx.params;
  let build = await api(`/builds/${encodeURIComponent(id)}`, { signal: ctx.signal });
  const head = h("div");
  const feedback = h("div");
  const actions = h("div", { class: "actions" });

  let lastRefresh = Date.now();
  async function refresh() {
    lastRefresh = Date.now();
    const before = build.status;
    build = await api(`/builds/${encodeURIComponent(id)}`, { signal: ctx.signal });
    render();
    if (before !== build.status) announce(`Build ${build.status.replace("_", " ")}`);
  }

  async function act(what, call) {
    feedback.replaceChildren();
    try {
      await call();
    } catch (err) {
      feedback.replaceChildren(message("error", `Could not ${what}: ${err.message}`));
    }
  }

  const cancel = h("button", {
    type: "button",
    class: "danger",
    onclick: () => act("cancel the build", async () => {
      cancel.disabled = true;
      await api(`/builds/${encodeURIComponent(id)}/cancel`, { method: "POST" });
      await refresh();
    }),
  }, "Cancel build");
  const retry = h("button", {
    type: "button",
    class: "primary",
    onclick: () => act("retry the build", async () => {
      const again = await api(`/builds/${encodeURIComponent(id)}/retry`, { method: "POST" });
      ctx.navigate(`#/b/${again.id}`);
    }),
  }, "Retry");

  function render() {
    ctx.setTitle(`${build.status} · ${build.sourceName} · ${build.repository}`);
    const ended = TERMINAL.has(build.status);
    cancel.disabled = false;
    actions.replaceChildren(...(ended ? [retry] : [cancel]));
    head.replaceChildren(
      h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" },
        h("a", { href: "#/" }, "Repositories"), h("span", { "aria-hidden": "true" }, " / "),
        h("a", { href: `#/r/${build.repository}` }, build.repository), h("span", { "aria-hidden": "true" }, " / "),
        `build ${shortId(build.id)}`),
      h("div", { class: "title-row" },
        h("h1", {}, "Build of ", h("code", {}, build.sourceName), " ", h("span", { class: "build-status", "data-status": build.status }, statusBadge(build.status))),
        actions),
      ...(build.error ? [message("error", h("strong", {}, build.error.code), ": ", build.error.message)] : []),
      timeline(build),
      h("div", { class: "columns" }, summary(build), pullLines(build)),
    );
  }

  render();
  const log = createLogView(id, {
    signal: ctx.signal,
    // New output often means a new step: the timeline follows it, at most once a second.
    onOutput: () => {
      if (!TERMINAL.has(build.status) && Date.now() - lastRefresh > 1000) void refresh();
    },
    onEnd: () => void refresh(),
  });
  main.replaceChildren(head, feedback, log.element);
  // The timeline moves while the build runs; the log stream's end refreshes it at once.
  poll(ctx.signal, 2000, async () => {
    if (!TERMINAL.has(build.status)) await refresh();
  });
}
