import { api, ApiError, repoPath } from "../lib/api.js";
import { buildChart } from "../lib/chart.js";
import {
  announce,
  buildDuration,
  cell,
  clock,
  copyLine,
  field,
  firstLine,
  formatDuration,
  h,
  message,
  renderKeyed,
  shortId,
  shortSha,
  sourceLabel,
  STATUSES,
  statusBadge,
  table,
  timeAgo,
  uniqueId,
} from "../lib/dom.js";
import { poll, replaceQuery } from "../lib/router.js";

const PAGE_SIZE = 25;
const CHART_SIZE = 50;

const starsText = (count) => `${count} ${count === 1 ? "star" : "stars"}`;

/**
 * The star toggle: a button whose name stays "Star" while aria-pressed says whether the user starred
 * the repository (a name that flipped to "Unstar" would contradict its own pressed state), beside the count.
 */
export function starToggle(repo) {
  let { starred, starCount } = repo;
  let busy = false;
  const icon = h("span", { class: "star-icon", "aria-hidden": "true" });
  const count = h("span", { class: "star-count muted", id: uniqueId("stars") });
  const button = h("button", { type: "button", class: "star-button", "aria-describedby": count.id }, icon, " Star");
  const feedback = h("div", { class: "star-feedback" });
  function show() {
    button.setAttribute("aria-pressed", String(starred));
    button.title = starred ? "You starred it: press to unstar" : "Star it";
    icon.textContent = starred ? "★" : "☆";
    count.textContent = starsText(starCount);
  }
  // Not disabled while it waits: a disabled button would lose the keyboard's focus.
  button.addEventListener("click", async () => {
    if (busy) return;
    busy = true;
    button.setAttribute("aria-busy", "true");
    feedback.replaceChildren();
    try {
      ({ starred, starCount } = await api(`${repoPath(repo.fullName)}/star`, { method: starred ? "DELETE" : "PUT" }));
      show();
      announce(`${starred ? "Starred" : "Unstarred"} ${repo.fullName}: ${starsText(starCount)}`);
    } catch (err) {
      feedback.replaceChildren(message("error", `Could not ${starred ? "unstar" : "star"} it: ${err.message}`));
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
    }
  });
  show();
  return h("div", { class: "star-group" }, button, count, feedback);
}

/** The repository's header and its two tabs, shared by the builds and settings pages. */
export function repositoryHeader(repo, current) {
  const tab = (name, href) => h("a", { href, class: "tab", ...(current === name ? { "aria-current": "page" } : {}) }, name);
  return h("div", { class: "page-head" },
    h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" }, h("a", { href: "#/" }, "Repositories"), h("span", { "aria-hidden": "true" }, " / "), repo.namespace),
    h("div", { class: "title-row" },
      h("h1", {}, repo.fullName, repo.private ? h("span", { class: "pill" }, "private") : null),
      starToggle(repo)),
    repo.description ? h("p", { class: "muted" }, repo.description) : null,
    copyLine(`docker pull ${repo.image}`, "Copy the pull command"),
    // Settings are the admins' (the API refuses the others); a tab leading to refusals helps nobody.
    h("nav", { class: "tabs", "aria-label": "Repository" }, tab("Builds", `#/r/${repo.fullName}`), repo.role === "admin" ? tab("Settings", `#/r/${repo.fullName}/settings`) : null));
}

function causeCell(build) {
  const { cause } = build;
  if (cause.type === "retry" && cause.retryOf) return h("span", {}, "retry of ", h("a", { href: `#/b/${cause.retryOf}` }, shortId(cause.retryOf)));
  return h("span", {}, cause.type);
}

export function buildRow(build) {
  const duration = buildDuration(build);
  return h("tr", {},
    cell("Status", h("a", { href: `#/b/${build.id}`, class: "status-link", "aria-label": `${build.status}: open the build of ${build.sourceType} ${build.sourceName}` }, statusBadge(build.status))),
    cell("Branch or tag", sourceLabel(build)),
    cell("Commit", build.commit ? h("code", {}, shortSha(build.commit)) : h("span", { class: "muted" }, "head"), " ", h("span", { class: "commit-message" }, firstLine(build.commitMessage))),
    cell("Tags", build.tags.length ? build.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "—")),
    cell("Cause", causeCell(build)),
    cell("Queued", timeAgo(build.queuedAt)),
    cell("Started", h("span", { title: build.startedAt ? new Date(build.startedAt).toLocaleString() : "" }, clock(build.startedAt))),
    cell("Finished", h("span", { title: build.finishedAt ? new Date(build.finishedAt).toLocaleString() : "" }, clock(build.finishedAt))),
    cell("Duration", formatDuration(duration) || h("span", { class: "muted" }, "—")));
}

/** Starts a build by hand: through one rule, or every rule that matches a branch or tag. */
function startBuildForm(repo, rules, onStarted) {
  const rule = h("select", { name: "rule" },
    h("option", { value: "" }, "Every rule that matches"),
    rules.map((r) => h("option", { value: r.id }, `${r.sourceType} ${r.sourceName} → ${r.dockerTag}`)));
  const type = h("select", { name: "sourceType" }, h("option", { value: "branch" }, "branch"), h("option", { value: "tag" }, "tag"));
  const name = h("input", { name: "sourceName", autocomplete: "off", placeholder: "main" });
  const feedback = h("div");
  const submit = h("button", { type: "submit", class: "primary" }, "Start build");
  rule.addEventListener("change", () => {
    const chosen = rules.find((r) => r.id === rule.value);
    if (!chosen) return;
    type.value = chosen.sourceType;
    // A pattern rule has no single branch or tag: the user names one.
    name.value = chosen.sourceName.startsWith("/") ? "" : chosen.sourceName;
    name.placeholder = chosen.sourceName.startsWith("/") ? `a name matching ${chosen.sourceName}` : chosen.sourceName;
  });
  return h("details", { class: "card" },
    h("summary", {}, "Start a build"),
    h("form", {
      class: "grid-form",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        const body = rule.value ? { ruleId: rule.value } : {};
        if (name.value.trim() || !rule.value) Object.assign(body, { sourceType: type.value, sourceName: name.value.trim() });
        try {
          const { builds } = await api(`${repoPath(repo.fullName)}/builds`, { method: "POST", body });
          feedback.replaceChildren(message("success", `Queued ${builds.length} build${builds.length === 1 ? "" : "s"}: `,
            builds.map((b, i) => [i ? ", " : "", h("a", { href: `#/b/${b.id}` }, `${b.sourceName} → ${b.tags.join(", ") || "(no tags)"}`)])));
          await onStarted();
        } catch (err) {
          feedback.replaceChildren(message("error", err.message));
        } finally {
          submit.disabled = false;
        }
      },
    },
    field("Rule", rule),
    field("Type", type),
    field("Branch or tag", name, "builds its current head"),
    h("div", {}, submit)),
    feedback);
}

/** A repository's builds: filters, keyset pages, a chart; refreshed while shown. */
export async function repositoryPage(main, ctx) {
  const [namespace, name] = ctx.params;
  const base = repoPath(`${namespace}/${name}`);
  const repo = await api(base, { signal: ctx.signal });
  const [{ rules }, source] = await Promise.all([
    api(`${base}/rules`, { signal: ctx.signal }),
    // The source (and its webhook URL) is for admins; the others never ask.
    repo.role !== "admin"
      ? null
      : api(`${base}/source`, { signal: ctx.signal }).catch((err) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        }),
  ]);
  ctx.setTitle(repo.fullName);

  const filters = { status: ctx.query.get("status") ?? "", sourceName: ctx.query.get("source") ?? "", sourceType: ctx.query.get("type") ?? "" };
  // Keyset pages: the cursors of the pages before this one, to go back.
  let cursor = ctx.query.get("cursor");
  const previous = [];

  const status = h("select", { name: "status" }, h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s, selected: s === filters.status }, s.replace("_", " "))));
  const sourceName = h("input", { type: "search", name: "source", value: filters.sourceName, autocomplete: "off", placeholder: "main, v1.2, …" });
  const sourceType = h("select", { name: "type" }, h("option", { value: "" }, "branch or tag"), h("option", { value: "branch", selected: filters.sourceType === "branch" }, "branch"), h("option", { value: "tag", selected: filters.sourceType === "tag" }, "tag"));
  const body = h("tbody");
  const list = h("div", { class: "builds-list" });
  const chart = h("div");
  const newer = h("button", { type: "button", onclick: () => go(previous.pop() ?? null, false) }, "← Newer");
  const older = h("button", { type: "button" }, "Older →");
  const pageInfo = h("span", { class: "muted", "aria-live": "polite" });
  const pager = h("div", { class: "pager" }, newer, pageInfo, older);
  let nextCursor = null;
  older.addEventListener("click", () => go(nextCursor, true));

  const query = (extra) => {
    const q = new URLSearchParams({ limit: String(extra.limit) });
    if (filters.status) q.set("status", filters.status);
    if (filters.sourceName) q.set("sourceName", filters.sourceName);
    if (filters.sourceType) q.set("sourceType", filters.sourceType);
    if (extra.cursor) q.set("cursor", extra.cursor);
    return q;
  };

  function syncUrl() {
    const q = new URLSearchParams();
    if (filters.status) q.set("status", filters.status);
    if (filters.sourceName) q.set("source", filters.sourceName);
    if (filters.sourceType) q.set("type", filters.sourceType);
    if (cursor) q.set("cursor", cursor);
    replaceQuery(q);
  }

  async function load() {
    const [page, recent] = await Promise.all([
      api(`${base}/builds?${query({ limit: PAGE_SIZE, cursor })}`, { signal: ctx.signal }),
      api(`${base}/builds?${query({ limit: CHART_SIZE })}`, { signal: ctx.signal }),
    ]);
    nextCursor = page.nextCursor;
    older.disabled = !nextCursor;
    newer.disabled = !cursor;
    pager.hidden = !cursor && !nextCursor;
    const where = cursor ? `older builds, page ${previous.length + 1}` : "newest builds";
    // A live region: set only when it changes, or every refresh would be read out.
    if (pageInfo.textContent !== where) pageInfo.textContent = where;
    chart.replaceChildren(buildChart(recent.builds, (id) => ctx.navigate(`#/b/${id}`)));
    if (page.builds.length === 0) {
      const filtered = filters.status || filters.sourceName || filters.sourceType;
      list.replaceChildren(message("info", filtered ? "No build matches these filters." : source ? "No builds yet: push to the linked source, or start one above." : repo.role === "admin" ? "No builds yet: link a source in Settings, then push." : "No builds yet."));
      return;
    }
    if (!list.contains(body)) list.replaceChildren(table("Builds", ["Status", "Branch or tag", "Commit", "Tags", "Cause", "Queued", "Started", "Finished", "Duration"], body));
    // The running ones change every second; the rest only when their record does.
    const minute = Math.floor(Date.now() / 30000);
    renderKeyed(body, page.builds, (b) => b.id, (b) => JSON.stringify([b.status, b.commit, b.tags, b.finishedAt, b.startedAt, b.finishedAt ? minute : Date.now()]), buildRow);
  }

  async function go(to, forward) {
    if (forward) previous.push(cursor);
    cursor = to;
    syncUrl();
    await load();
  }

  const applyFilters = async (event) => {
    event?.preventDefault();
    filters.status = status.value;
    filters.sourceName = sourceName.value.trim();
    filters.sourceType = sourceType.value;
    previous.length = 0;
    cursor = null;
    syncUrl();
    await load();
  };
  status.addEventListener("change", applyFilters);
  sourceType.addEventListener("change", applyFilters);

  main.replaceChildren(
    repositoryHeader(repo, "Builds"),
    ...(source || repo.role !== "admin" ? [] : [message("info", "No source is linked yet: ", h("a", { href: `#/r/${repo.fullName}/settings` }, "link one in Settings"), " to build.")]),
    repo.role === "write" || repo.role === "admin" ? startBuildForm(repo, rules, load) : null,
    h("section", { "aria-labelledby": "chart-title" }, h("h2", { id: "chart-title" }, "Durations and outcomes"), chart),
    h("section", { "aria-labelledby": "builds-title" },
      h("h2", { id: "builds-title" }, "Builds"),
      h("form", { class: "toolbar", role: "search", "aria-label": "Filter builds", onsubmit: applyFilters },
        field("Status", status), field("Branch or tag", sourceName), field("Type", sourceType), h("button", { type: "submit" }, "Filter")),
      list,
      pager),
  );
  await load();
  // New builds appear without a reload: the page is read again every few seconds while shown.
  poll(ctx.signal, 3000, load);
}
