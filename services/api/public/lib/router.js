// Pages are addressed by the URL's hash: `#/r/acme/hello?status=failed`.

/** The current hash as a path and its query. */
export function currentLocation() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { path, query: new URLSearchParams(query) };
}

/** Rewrites the current page's query in the URL (filters, page) without leaving the page. */
export function replaceQuery(query) {
  const { path } = currentLocation();
  const text = query.toString();
  history.replaceState(null, "", `#${path}${text ? `?${text}` : ""}`);
}

/**
 * Calls `task` now and then every `everyMs` while the page is shown, until `signal` aborts.
 * A hidden tab is not polled; it catches up as soon as it is shown again.
 */
export function poll(signal, everyMs, task) {
  let timer;
  let running = false;
  const run = async () => {
    clearTimeout(timer);
    if (signal.aborted) return;
    if (document.visibilityState === "visible" && !running) {
      running = true;
      try {
        await task();
      } catch (err) {
        // A failed refresh is retried at the next tick; the page keeps what it shows.
        console.warn("refresh failed", err);
      } finally {
        running = false;
      }
    }
    if (!signal.aborted) timer = setTimeout(run, everyMs);
  };
  const onVisible = () => {
    if (document.visibilityState === "visible") void run();
  };
  document.addEventListener("visibilitychange", onVisible);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  });
  timer = setTimeout(run, everyMs);
}
