import { api } from "../lib/api.js";
import { cell, h, message, renderKeyed, shortId, table, timeAgo } from "../lib/dom.js";
import { poll, replaceQuery } from "../lib/router.js";

const PAGE_SIZE = 50;
const OUTCOME_ICON = { queued: "✓", ignored: "–", duplicate: "=", rejected: "✕" };

export function outcomeBadge(outcome) {
  return h("span", { class: `badge outcome-${outcome}` }, h("span", { class: "badge-icon", "aria-hidden": "true" }, OUTCOME_ICON[outcome] ?? "●"), outcome);
}

function row(delivery) {
  return h("tr", {},
    cell("Received", timeAgo(delivery.receivedAt)),
    cell("Forge", delivery.provider ?? h("span", { class: "muted" }, "unknown")),
    cell("Event", delivery.event ? h("code", {}, delivery.event) : h("span", { class: "muted" }, "none")),
    cell("Outcome", outcomeBadge(delivery.outcome)),
    cell("Answer", h("code", {}, String(delivery.status))),
    cell("Reason", delivery.reason ?? h("span", { class: "muted" }, "—")),
    cell("Builds", delivery.builds.length
      ? delivery.builds.map((id, i) => [i ? ", " : "", h("a", { href: `#/b/${id}` }, shortId(id))])
      : h("span", { class: "muted" }, "none")),
    cell("Delivery", delivery.deliveryId ? h("code", { class: "break small-text", title: delivery.deliveryId }, delivery.deliveryId) : h("span", { class: "muted" }, "—")));
}

/** The inbound log, newest first, like a forge's "recent deliveries"; refreshed while shown. */
export async function deliveriesPage(main, ctx) {
  ctx.setTitle("Deliveries");
  const source = ctx.query.get("source");
  const repo = ctx.query.get("repo");
  let cursor = ctx.query.get("cursor");
  const previous = [];
  let nextCursor = null;
  const body = h("tbody");
  const list = h("div");
  const newer = h("button", { type: "button", onclick: () => go(previous.pop() ?? null) }, "← Newer");
  const older = h("button", { type: "button", onclick: () => (previous.push(cursor), go(nextCursor)) }, "Older →");
  const pager = h("div", { class: "pager" }, newer, older);

  async function load() {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (source) q.set("source", source);
    if (cursor) q.set("cursor", cursor);
    const page = await api(`/deliveries?${q}`, { signal: ctx.signal });
    nextCursor = page.nextCursor;
    older.disabled = !nextCursor;
    newer.disabled = !cursor;
    pager.hidden = !cursor && !nextCursor;
    if (page.deliveries.length === 0) {
      list.replaceChildren(message("info", "No deliveries yet. Point your forge's webhook at the URL a repository's Settings show."));
      return;
    }
    if (!list.contains(body)) list.replaceChildren(table("Deliveries", ["Received", "Forge", "Event", "Outcome", "Answer", "Reason", "Builds", "Delivery"], body));
    const minute = Math.floor(Date.now() / 30000);
    renderKeyed(body, page.deliveries, (d) => d.id, (d) => JSON.stringify([d.outcome, d.status, d.reason, d.builds, minute]), row);
  }

  async function go(to) {
    cursor = to;
    const q = new URLSearchParams();
    if (source) q.set("source", source);
    if (repo) q.set("repo", repo);
    if (cursor) q.set("cursor", cursor);
    replaceQuery(q);
    await load();
  }

  main.replaceChildren(
    h("div", { class: "page-head" },
      h("h1", {}, "Deliveries"),
      h("p", { class: "muted" }, source
        ? ["Inbound webhooks to ", repo ? h("a", { href: `#/r/${repo}/settings` }, repo) : "one source", "'s URL. ", h("a", { href: "#/deliveries" }, "Show every delivery.")]
        : "Every inbound webhook Slipway received, accepted or not: what it was, what Slipway answered and why, and the builds it queued.")),
    list,
    pager,
  );
  await load();
  poll(ctx.signal, 5000, async () => {
    if (!cursor) await load();
  });
}
