import { existsSync, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO_ROOT } from "./slipway.js";

/** Where the browser tests leave their screenshots (git ignores it). */
export const SCREENSHOTS_DIR = join(REPO_ROOT, "test-results", "screenshots");

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** The system's Chromium (Debian's `chromium`, which npm test installs); no browser is downloaded. */
export function chromiumPath(): string {
  const given = process.env["SLIPWAY_TEST_CHROMIUM"];
  if (given) {
    if (!existsSync(given)) throw new Error(`SLIPWAY_TEST_CHROMIUM=${given}: no such file`);
    return given;
  }
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter(Boolean), "/usr/bin"];
  const found = NAMES.flatMap((name) => dirs.map((dir) => join(dir, name))).find((path) => existsSync(path));
  if (!found) {
    throw new Error("no Chromium found for the browser tests: `npm test` installs Debian's chromium as root; elsewhere install Chromium and set SLIPWAY_TEST_CHROMIUM to its path");
  }
  return found;
}

/** A headless Chromium with a fresh profile, which talks to nothing but the pages it is sent to. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Form controls on the page without a name a screen reader reads (a <label>, or aria-label(ledby)). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  // A string, evaluated in the page: the tests are compiled without the DOM's types.
  return page.evaluate<string[]>(`[...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && !el.closest(".visually-hidden"))
    .filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
    .map((el) => el.outerHTML.slice(0, 120))`);
}
