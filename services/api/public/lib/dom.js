// Building pages from plain DOM nodes: text is always set as text, never parsed as HTML.

/**
 * An element: `on*` attributes add listeners; false, null and undefined leave an attribute out.
 * `value`, `checked` and `selected` are set as attributes, so they are also what a form's reset() restores.
 */
export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element, as h() does HTML. */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) el.setAttribute(key, value === true ? "" : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

let nextId = 0;
export const uniqueId = (prefix = "field") => `${prefix}-${++nextId}`;

/** A control with its label and, if given, a hint that describes it (read after the label, not as part of its name). */
export function field(label, control, hint) {
  control.id ||= uniqueId();
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { class: "field-label", for: control.id }, label), control, hintEl);
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A <time> showing how long ago, with the exact local time as its tooltip. */
export function timeAgo(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "—";
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "";
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export const TERMINAL = new Set(["success", "failed", "canceled", "timed_out", "superseded"]);
export const RUNNING = new Set(["cloning", "building", "pushing"]);
export const STATUSES = ["queued", "cloning", "building", "pushing", "success", "failed", "canceled", "timed_out", "superseded"];

/** How long a build ran (or has been running), in ms; undefined before it starts. */
export function buildDuration(build, now = Date.now()) {
  if (!build.startedAt) return undefined;
  const end = build.finishedAt ? Date.parse(build.finishedAt) : TERMINAL.has(build.status) ? undefined : now;
  return end === undefined ? undefined : end - Date.parse(build.startedAt);
}

const STATUS_TEXT = {
  queued: "queued",
  cloning: "cloning",
  building: "building",
  pushing: "pushing",
  success: "success",
  failed: "failed",
  canceled: "canceled",
  timed_out: "timed out",
  superseded: "superseded",
};
const STATUS_ICON = { success: "✓", failed: "✕", timed_out: "✕", canceled: "⊘", superseded: "↷", queued: "…" };

/** A status as a badge: an icon, the word and a colour, never the colour alone. */
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, h("span", { class: "badge-icon", "aria-hidden": "true" }, STATUS_ICON[status] ?? "●"), STATUS_TEXT[status] ?? status);
}

export const shortSha = (commit) => (commit ? commit.slice(0, 7) : "");
/** A build's id, short: the end of its UUID (the start is its time, alike among close builds). */
export const shortId = (id) => id.slice(-8);
export const firstLine = (text) => (text ?? "").split("\n")[0].trim();

export function sourceLabel(build) {
  return h("span", { class: "source" }, h("span", { class: "source-type" }, build.sourceType === "tag" ? "tag" : "branch"), " ", h("code", {}, build.sourceName));
}

/** Copies text, with the browser's clipboard where it may be used, else by selecting it. */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { class: "visually-hidden", readonly: true }, text);
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy failed");
}

/** A button that copies `text` and says so. */
export function copyButton(text, label = "Copy") {
  const button = h("button", {
    type: "button",
    class: "small",
    "aria-label": `${label}: ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`,
    onclick: async () => {
      try {
        await copyText(text);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
      announce(button.textContent);
      setTimeout(() => (button.textContent = "Copy"), 2000);
    },
  }, "Copy");
  return button;
}

/** A labelled read-only control with buttons beside it (copy, reveal). */
export function fieldWithButtons(label, control, ...buttons) {
  control.id ||= uniqueId();
  return h("div", { class: "field" }, h("label", { class: "field-label", for: control.id }, label), h("div", { class: "input-row" }, control, ...buttons));
}

/** A line of shell to copy: the text and its copy button. */
export function copyLine(text, label) {
  return h("div", { class: "copy-line" }, h("code", {}, text), copyButton(text, label ?? "Copy"));
}

/** Said to screen readers through the page's polite live region. */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => (region.textContent = message), 50);
}

/** A message box: `error` ones are alerts. */
export function message(kind, ...content) {
  return h("div", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status" }, ...content);
}

/**
 * A button that asks before acting: the first press shows "Yes, …" and "Keep", so that a
 * revoke or delete is never one slip away (and no modal dialog is needed).
 */
export function confirmButton(label, question, action) {
  const wrap = h("span", { class: "confirm" });
  const ask = h("button", { type: "button", class: "small danger", onclick: () => wrap.replaceChildren(prompt) }, label);
  const yes = h("button", {
    type: "button",
    class: "small danger",
    onclick: async () => {
      yes.disabled = true;
      try {
        await action();
      } finally {
        yes.disabled = false;
      }
    },
  }, `Yes, ${label.toLowerCase()}`);
  const keep = h("button", { type: "button", class: "small", onclick: () => { wrap.replaceChildren(ask); ask.focus(); } }, "Keep");
  const prompt = h("span", { class: "confirm-prompt" }, h("span", {}, question), " ", yes, " ", keep);
  wrap.append(ask);
  return wrap;
}

/**
 * Replaces a list's children with one element per item, reusing the element of an item whose
 * signature did not change, so that polling keeps focus and scroll where they were.
 */
export function renderKeyed(container, items, keyOf, signatureOf, render) {
  const previous = new Map();
  for (const child of container.children) previous.set(child.dataset.key, child);
  const next = items.map((item) => {
    const key = keyOf(item);
    const signature = signatureOf(item);
    const old = previous.get(key);
    if (old && old.dataset.signature === signature) return old;
    const el = render(item);
    el.dataset.key = key;
    el.dataset.signature = signature;
    return el;
  });
  const same = next.length === container.children.length && next.every((el, i) => container.children[i] === el);
  if (!same) container.replaceChildren(...next);
}

/** A table whose cells carry their column's name, which the phone layout shows beside each value. */
export function table(caption, headers, body) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "responsive" },
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      body));
}

/** A cell: its content in one box, so that the phone layout sets it beside the label as a whole. */
export function cell(label, ...content) {
  return h("td", { "data-label": label }, h("div", { class: "cell" }, ...content));
}
