// Build durations and outcomes over time: one bar per build, oldest on the left, its height
// the time it ran and its colour the outcome. Drawn as inline SVG, no library; the numbers
// are also given as text (the caption and the builds table), never by colour alone.
import { ago, buildDuration, formatDuration, h, s, TERMINAL } from "./dom.js";

const WIDTH = 600;
const HEIGHT = 120;

const OUTCOMES = [
  ["success", "succeeded", (b) => b.status === "success"],
  ["failed", "failed or timed out", (b) => b.status === "failed" || b.status === "timed_out"],
  ["other", "canceled or superseded", (b) => b.status === "canceled" || b.status === "superseded"],
  ["running", "queued or running", (b) => !TERMINAL.has(b.status)],
];

const outcomeOf = (build) => OUTCOMES.find(([, , test]) => test(build))[0];

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A figure for these builds (newest first, as the API lists them); navigate(id) opens one. */
export function buildChart(builds, navigate) {
  const now = Date.now();
  const shown = [...builds].reverse();
  if (shown.length === 0) return h("p", { class: "muted" }, "No builds to chart yet.");
  const durations = shown.map((b) => buildDuration(b, now));
  const longest = Math.max(1000, ...durations.filter((d) => d !== undefined));
  const slots = Math.max(shown.length, 20);
  const slot = WIDTH / slots;
  // Few builds sit at the right, next to "now".
  const offset = (slots - shown.length) * slot;
  const counts = Object.fromEntries(OUTCOMES.map(([key]) => [key, 0]));
  const finished = [];

  const bars = shown.map((build, i) => {
    const duration = durations[i];
    const outcome = outcomeOf(build);
    counts[outcome]++;
    if (duration !== undefined && TERMINAL.has(build.status)) finished.push(duration);
    // A build that never ran still gets a sliver, so that its outcome shows.
    const height = duration === undefined ? 3 : Math.max(3, (duration / longest) * (HEIGHT - 4));
    const bar = s("rect", {
      class: `bar bar-${outcome}`,
      x: (offset + i * slot + slot * 0.15).toFixed(1),
      y: (HEIGHT - height).toFixed(1),
      width: (slot * 0.7).toFixed(1),
      height: height.toFixed(1),
      onclick: () => navigate(build.id),
    }, s("title", {}, `${build.sourceName} ${build.status}${duration !== undefined ? `, ${formatDuration(duration)}` : ""}, queued ${ago(build.queuedAt, now)}`));
    return bar;
  });

  const typical = median(finished);
  const summary = `${shown.length} most recent builds: ${OUTCOMES.filter(([key]) => counts[key] > 0).map(([key, label]) => `${counts[key]} ${label}`).join(", ")}` +
    (typical !== undefined ? `; median duration ${formatDuration(typical)}, longest ${formatDuration(longest)}.` : ".");

  return h("figure", { class: "chart" },
    h("div", { class: "chart-frame" },
      h("span", { class: "chart-max" }, formatDuration(longest)),
      s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img", "aria-label": summary, class: "chart-svg" },
        [0.25, 0.5, 0.75].map((f) => s("line", { class: "grid", x1: 0, x2: WIDTH, y1: HEIGHT * f, y2: HEIGHT * f, "vector-effect": "non-scaling-stroke" })),
        bars),
      h("div", { class: "chart-axis" }, h("span", {}, ago(shown[0].queuedAt, now)), h("span", {}, "now"))),
    h("figcaption", {},
      h("ul", { class: "legend" }, OUTCOMES.map(([key, label]) => h("li", {}, h("span", { class: `swatch bar-${key}`, "aria-hidden": "true" }), `${label}: ${counts[key]}`))),
      h("p", { class: "muted small-text" }, summary)));
}
