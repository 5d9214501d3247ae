// Slipway's dashboard: plain pages over the same /api/v1 routes users script against.
const main = document.getElementById("main");
const signOut = document.getElementById("sign-out");
const TOKEN_KEY = "slipway-token";
let stopFollowing = () => {};

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : String(v));
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return el;
};

async function api(path, options = {}) {
  const res = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, ...(options.body ? { "content-type": "application/json" } : {}) },
  });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    route();
    throw new Error("signed out");
  }
  const body = (res.headers.get("content-type") ?? "").includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

const ago = (iso) => {
  if (!iso) return "";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : s < 86400 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`;
};
const duration = (b) => (b.startedAt && b.finishedAt ? `${((Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000).toFixed(1)}s` : "");
const statusOf = (status) => h("span", { class: `status status-${status}` }, status);

function signIn() {
  signOut.hidden = true;
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  main.replaceChildren(
    h("h1", {}, "Sign in"),
    h("form", {
      onsubmit: async (e) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        try {
          await api("/repositories?limit=1");
          route();
        } catch {
          error.textContent = "That token was not accepted.";
        }
      },
    }, h("label", { for: "token" }, "Admin token (printed by npm start)", input), h("button", { type: "submit" }, "Sign in")),
    error,
  );
  input.focus();
}

async function repositories() {
  const { repositories } = await api("/repositories?limit=100");
  const rows = await Promise.all(repositories.map(async (r) => {
    const { builds } = await api(`/repositories/${r.fullName}/builds?limit=1`);
    const b = builds[0];
    return h("tr", {},
      h("td", {}, h("a", { href: `#/r/${r.fullName}` }, r.fullName)),
      h("td", {}, b ? statusOf(b.status) : h("span", { class: "muted" }, "no builds")),
      h("td", { class: "wide" }, b ? b.tags.join(", ") : ""),
      h("td", { class: "wide" }, b ? h("code", {}, b.commit.slice(0, 7)) : ""),
      h("td", {}, b ? ago(b.queuedAt) : ""));
  }));
  main.replaceChildren(
    h("h1", {}, "Repositories"),
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Repository"), h("th", {}, "Last build"), h("th", { class: "wide" }, "Tags"), h("th", { class: "wide" }, "Commit"), h("th", {}, "When"))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, "No repositories yet: create one with POST /api/v1/repositories (see the README)."),
  );
}

async function repository(fullName) {
  const [{ builds }, repo] = await Promise.all([api(`/repositories/${fullName}/builds?limit=50`), api(`/repositories/${fullName}`)]);
  main.replaceChildren(
    h("h1", {}, repo.fullName),
    h("p", {}, h("code", {}, `docker pull ${repo.image}`)),
    h("h2", {}, "Builds"),
    builds.length
      ? h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "Status"), h("th", {}, "Source"), h("th", { class: "wide" }, "Commit"), h("th", { class: "wide" }, "Tags"), h("th", { class: "wide" }, "Cause"), h("th", {}, "Queued"), h("th", {}, "Took"))),
          h("tbody", {}, builds.map((b) => h("tr", {},
            h("td", {}, h("a", { href: `#/b/${b.id}` }, statusOf(b.status))),
            h("td", {}, `${b.sourceType} ${b.sourceName}`),
            h("td", { class: "wide" }, h("code", {}, b.commit.slice(0, 7)), " ", h("span", { class: "muted" }, (b.commitMessage ?? "").split("\n")[0])),
            h("td", { class: "wide" }, b.tags.join(", ")),
            h("td", { class: "wide" }, b.cause.type),
            h("td", {}, ago(b.queuedAt)),
            h("td", {}, duration(b))))))
      : h("p", { class: "muted" }, "No builds yet: push to the linked source."),
  );
}

async function build(id) {
  const b = await api(`/builds/${id}`);
  const log = h("pre", { "aria-label": "Build log" });
  const head = h("div");
  const render = (b) => head.replaceChildren(
    h("h1", {}, h("a", { href: `#/r/${b.repository}` }, b.repository), " ", statusOf(b.status)),
    h("p", {}, `${b.sourceType} ${b.sourceName} at `, h("code", {}, b.commit ? b.commit.slice(0, 12) : "(head)"), ` → ${b.tags.join(", ")}`),
    b.digest ? h("p", {}, h("code", {}, `docker pull ${b.image}@${b.digest}`)) : null,
    b.error ? h("p", { class: "error" }, `${b.error.code}: ${b.error.message}`) : null,
    h("p", { class: "muted" }, (b.timeline ?? []).map((t) => `${t.status} ${new Date(t.at).toLocaleTimeString()}`).join(" → ")),
  );
  render(b);
  main.replaceChildren(head, log);
  // Follow the log as it is written; the status line is refreshed when it ends.
  const controller = new AbortController();
  stopFollowing = () => controller.abort();
  try {
    const res = await fetch(`/api/v1/builds/${id}/logs?follow=1`, { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` }, signal: controller.signal });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      // ANSI colour codes are dropped until the full dashboard renders them.
      // eslint-disable-next-line no-control-regex
      log.append(value.replace(/\u001b\[[0-9;]*m/g, ""));
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    render(await api(`/builds/${id}`));
  } catch (err) {
    if (!controller.signal.aborted) log.append(`\n[${err.message}]`);
  }
}

async function route() {
  stopFollowing();
  if (!sessionStorage.getItem(TOKEN_KEY)) return signIn();
  signOut.hidden = false;
  const [, kind, ...rest] = location.hash.replace(/^#/, "").split("/");
  try {
    if (kind === "r") await repository(rest.join("/"));
    else if (kind === "b") await build(rest[0]);
    else await repositories();
  } catch (err) {
    if (err.message !== "signed out") main.replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
  }
}

signOut.addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  route();
});
window.addEventListener("hashchange", route);
route();
