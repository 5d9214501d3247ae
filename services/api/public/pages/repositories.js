import { api, repoPath } from "../lib/api.js";
import { cell, field, firstLine, h, message, renderKeyed, shortSha, statusBadge, table, timeAgo } from "../lib/dom.js";
import { poll, replaceQuery } from "../lib/router.js";

/** Repositories shown at once; the search narrows them. */
const SHOWN = 50;
/** Pages of 100 read for the search (the API lists repositories by name). */
const MAX_PAGES = 20;

async function allRepositories(signal) {
  const repositories = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await api(`/repositories?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { signal });
    repositories.push(...answer.repositories);
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return repositories;
}

function lastBuildCells(build) {
  if (!build) return [cell("Last build", h("span", { class: "muted" }, "no builds yet")), cell("Tags", ""), cell("Commit", ""), cell("Age", "")];
  return [
    cell("Last build", h("a", { href: `#/b/${build.id}`, "aria-label": `Build ${build.status}, open it` }, statusBadge(build.status))),
    cell("Tags", build.tags.length ? build.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "—")),
    cell("Commit", build.commit ? h("code", { title: firstLine(build.commitMessage) }, shortSha(build.commit)) : h("span", { class: "muted" }, "head")),
    cell("Age", timeAgo(build.queuedAt)),
  ];
}

/** The star count; a filled star (and, to a screen reader, words) when the user starred it. */
function stars(repo) {
  return h("span", { class: `stars${repo.starred ? " starred" : ""}`, title: repo.starred ? "You starred it" : null },
    h("span", { class: "star-icon", "aria-hidden": "true" }, repo.starred ? "★" : "☆"), " ", String(repo.starCount),
    repo.starred ? h("span", { class: "visually-hidden" }, ", starred by you") : null);
}

function namespaceHint(user) {
  if (!user) return "lowercase letters and digits, with . _ or -";
  return user.admin ? `yours (${user.username}), an organisation's, or a new one (it becomes an organisation you own)` : `yours (${user.username}) or an organisation you own`;
}

function newRepositoryForm(ctx) {
  const namespace = h("input", { name: "namespace", required: true, autocomplete: "off", pattern: "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*" });
  const name = h("input", { name: "name", required: true, autocomplete: "off", pattern: "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*" });
  const description = h("input", { name: "description", autocomplete: "off" });
  const isPrivate = h("input", { type: "checkbox", name: "private" });
  const feedback = h("div");
  return h("details", { class: "card" },
    h("summary", {}, "New repository"),
    h("form", {
      class: "grid-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const repo = await api("/repositories", {
            method: "POST",
            body: { namespace: namespace.value.trim(), name: name.value.trim(), description: description.value, private: isPrivate.checked },
          });
          ctx.navigate(`#/r/${repo.fullName}/settings`);
        } catch (err) {
          feedback.replaceChildren(message("error", err.message));
        }
      },
    },
    field("Namespace", namespace, namespaceHint(ctx.user)),
    field("Name", name),
    field("Description", description),
    h("label", { class: "check" }, isPrivate, " Private"),
    h("div", {}, h("button", { type: "submit", class: "primary" }, "Create repository"))),
    feedback);
}

/** Every repository with its last build; search by name; refreshed while shown. */
export async function repositoriesPage(main, ctx) {
  ctx.setTitle("Repositories");
  const search = h("input", { type: "search", name: "q", value: ctx.query.get("q") ?? "", autocomplete: "off" });
  const body = h("tbody");
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const list = h("div");
  let repositories = [];
  const lastBuilds = new Map();

  async function loadLastBuilds(shown) {
    await Promise.all(shown.map(async (repo) => {
      const { builds } = await api(`${repoPath(repo.fullName)}/builds?limit=1`, { signal: ctx.signal });
      lastBuilds.set(repo.id, builds[0] ?? null);
    }));
  }

  function matching() {
    const term = search.value.trim().toLowerCase();
    return repositories.filter((r) => r.fullName.includes(term) || (r.description ?? "").toLowerCase().includes(term));
  }

  function render() {
    const found = matching();
    const shown = found.slice(0, SHOWN);
    const counted = repositories.length === 0
      ? ""
      : `${found.length} of ${repositories.length} repositories${found.length > SHOWN ? `, the first ${SHOWN} shown: narrow the search` : ""}`;
    // A live region: set only when it changes, or every refresh would be read out.
    if (count.textContent !== counted) count.textContent = counted;
    if (repositories.length === 0) {
      list.replaceChildren(message("info", "No repositories yet. Create one here, or with POST /api/v1/repositories (see the README)."));
      return shown;
    }
    if (!list.contains(body)) list.replaceChildren(table("Repositories", ["Repository", "Stars", "Last build", "Tags", "Commit", "Age"], body));
    renderKeyed(body, shown, (r) => r.id, (r) => JSON.stringify([r.fullName, r.description, r.starCount, r.starred, lastBuilds.get(r.id)?.id, lastBuilds.get(r.id)?.status, lastBuilds.get(r.id)?.commit, Math.floor(Date.now() / 60000)]), (repo) =>
      h("tr", {},
        cell("Repository", h("a", { href: `#/r/${repo.fullName}`, class: "strong" }, repo.fullName), repo.private ? h("span", { class: "pill" }, "private") : null,
          repo.description ? h("div", { class: "muted small-text" }, repo.description) : null),
        cell("Stars", stars(repo)),
        ...lastBuildCells(lastBuilds.get(repo.id))));
    return shown;
  }

  async function refresh() {
    repositories = await allRepositories(ctx.signal);
    await loadLastBuilds(matching().slice(0, SHOWN));
    render();
  }

  search.addEventListener("input", async () => {
    const query = new URLSearchParams();
    if (search.value.trim()) query.set("q", search.value.trim());
    replaceQuery(query);
    const shown = render();
    const missing = shown.filter((r) => !lastBuilds.has(r.id));
    if (missing.length) {
      await loadLastBuilds(missing);
      render();
    }
  });

  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Repositories")),
    h("form", { role: "search", class: "toolbar", onsubmit: (e) => e.preventDefault() }, field("Search by name", search)),
    count,
    list,
    newRepositoryForm(ctx),
  );
  await refresh();
  poll(ctx.signal, 5000, refresh);
}
