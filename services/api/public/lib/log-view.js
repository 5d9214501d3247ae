// A build log as it is written: Server-Sent Events from GET /builds/{id}/logs?follow=1,
// ANSI colours, line numbers, follow (keep the end in view) or pause, and a download link.
import { createAnsiReader } from "./ansi.js";
import { h } from "./dom.js";

/**
 * The log viewer for one build; `onOutput()` is called as the log grows and `onEnd(status)`
 * when the stream says the build ended.
 */
export function createLogView(buildId, { signal, onOutput, onEnd }) {
  const reader = createAnsiReader();
  const lines = h("div", { class: "log-lines" });
  const scroller = h("div", { class: "log", tabindex: "0", role: "region", "aria-label": "Build log", "data-state": "connecting" }, lines);
  // Not a live region: it changes with every line; the build's end is announced by the page.
  const state = h("span", { class: "muted log-state" }, "Connecting…");
  const follow = h("button", { type: "button", class: "small", "aria-pressed": "true" }, "Follow");
  let following = true;
  let current = null;
  let lineCount = 0;

  function setFollowing(on) {
    following = on;
    follow.setAttribute("aria-pressed", String(on));
    follow.textContent = on ? "Follow" : "Paused: follow";
    if (on) scroller.scrollTop = scroller.scrollHeight;
  }
  follow.addEventListener("click", () => setFollowing(!following));
  // Reading back up pauses following; the button resumes it.
  scroller.addEventListener("wheel", (e) => e.deltaY < 0 && following && setFollowing(false), { passive: true });
  scroller.addEventListener("keydown", (e) => ["ArrowUp", "PageUp", "Home"].includes(e.key) && following && setFollowing(false));
  scroller.addEventListener("touchmove", () => following && setFollowing(false), { passive: true });

  function ensureLine() {
    if (current) return current;
    current = h("div", { class: "log-line" });
    lines.append(current);
    lineCount++;
    return current;
  }

  function append(text) {
    for (const token of reader.feed(text)) {
      const line = ensureLine();
      if (token.newline) current = null;
      else line.append(token.className ? h("span", { class: token.className }, token.text) : token.text);
    }
    if (following) scroller.scrollTop = scroller.scrollHeight;
  }

  function setState(name, text) {
    scroller.dataset.state = name;
    state.textContent = text;
  }

  const source = new EventSource(`/api/v1/builds/${encodeURIComponent(buildId)}/logs?follow=1`);
  source.addEventListener("open", () => setState("live", "Live"));
  source.addEventListener("log", (event) => {
    append(event.data);
    state.textContent = `Live: ${lineCount} lines`;
    onOutput?.();
  });
  source.addEventListener("end", (event) => {
    source.close();
    let status = "ended";
    try {
      status = JSON.parse(event.data).status;
    } catch (err) {
      console.warn("unreadable end event", err);
    }
    setState("ended", `Ended (${status.replace("_", " ")}): ${lineCount} lines`);
    onEnd?.(status);
  });
  source.addEventListener("error", () => {
    // EventSource reconnects by itself (resuming after the last event's id) unless the server refused it.
    if (source.readyState === EventSource.CLOSED) setState("closed", "The log stream closed: reload the page to read it again.");
    else setState("reconnecting", "Reconnecting…");
  });
  signal.addEventListener("abort", () => source.close());

  const element = h("section", { class: "log-panel", "aria-labelledby": "log-title" },
    h("div", { class: "log-toolbar" },
      h("h2", { id: "log-title" }, "Log"),
      state,
      h("span", { class: "spacer" }),
      follow,
      h("a", { class: "button small", href: `/api/v1/builds/${encodeURIComponent(buildId)}/logs`, download: `slipway-build-${buildId}.log` }, "Download")),
    scroller);
  return { element };
}
