import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { GitServer } from "../git-server.js";
import { launchBrowser, screenshot, unlabelledControls } from "../support/browser.js";
import { startEnvironment } from "../support/environment.js";
import { githubPushPayload, sendGithubDelivery } from "../support/github.js";
import { requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

interface Linked {
  name: string;
  fullName: string;
  forgeName: string;
  webhookUrl: string;
  secret: string;
  commit: string;
}

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * Slipway with real builds: what a user does with it, in the order a user would.
 */
describe("the dashboard, in a real browser", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let hello: Linked;
  const pageErrors: string[] = [];

  // A webhook receiver on this machine (SLIPWAY_WEBHOOK_ALLOW_PRIVATE lets Slipway reach it).
  const received: string[] = [];
  const receiver: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(req.headers["x-slipway-event"] as string);
      res.writeHead(200, { "content-type": "text/plain" }).end("thanks");
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    ({ git, slipway, stop } = await startEnvironment({ slipway: { env: { SLIPWAY_WEBHOOK_ALLOW_PRIVATE: "true" } } }));
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light", reducedMotion: "reduce" });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await stop?.();
    receiver.close();
  });

  const dockerfile = (lines: string[]) => [`FROM ${baseImage}`, ...lines].join("\n") + "\n";
  const nonce = () => randomBytes(4).toString("hex");

  /** A forge repository with one commit, linked to a new Slipway repository (default rule main → latest). */
  async function link(prefix: string, files: Record<string, string>): Promise<Linked> {
    const name = `${prefix}-${nonce()}`;
    const forgeName = `acme/${name}`;
    await git.createRepo(forgeName);
    const { commit } = await git.commitAndPush(forgeName, files, { message: `${prefix}: first commit` });
    const created = await slipway.api("POST", "/repositories", { namespace: "acme", name, description: `The ${prefix} service` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const linked = await slipway.api("PUT", `/repositories/acme/${name}/source`, { provider: "github", repository: forgeName, cloneUrl: git.url(forgeName) });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return { name, fullName: `acme/${name}`, forgeName, webhookUrl: linked.body.webhookUrl, secret: linked.body.secret, commit };
  }

  async function buildByHand(repo: Linked): Promise<string> {
    const started = await slipway.api("POST", `/repositories/${repo.fullName}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.builds[0].id;
  }

  const logText = () => page.locator(".log").innerText();
  const buildStatus = () => page.locator(".build-status").getAttribute("data-status");

  async function assertLabelled(where: string) {
    assert.deepEqual(await unlabelledControls(page), [], `every form control on the ${where} page has a label`);
  }

  it("signs in with the admin token into an HttpOnly session, and refuses a wrong one", async () => {
    await page.goto(`${slipway.url}/`);
    await page.getByRole("heading", { name: "Sign in to Slipway" }).waitFor();
    await assertLabelled("sign-in");
    await screenshot(page, "sign-in");

    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "That token was not accepted." }).waitFor();

    await page.getByLabel("Admin token").fill(slipway.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Repositories", level: 1 }).waitFor();

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "slipway_session");
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Lax");
    assert.equal(await page.evaluate("document.cookie"), "", "the page's scripts cannot read the session");
    assert.equal(await page.evaluate("sessionStorage.length + localStorage.length"), 0, "no token is kept in the page's storage");
  });

  it("lists repositories with their last build, searches them, and opens one", async () => {
    hello = await link("hello", { Dockerfile: dockerfile([`RUN echo "hello ${nonce()}"`, 'CMD ["echo", "hello"]']) });
    const other = await link("other", { Dockerfile: dockerfile(["RUN true"]) });
    const built = await slipway.waitForBuild(await buildByHand(hello));
    assert.equal(built.status, "success", JSON.stringify(built.error));

    await page.goto(`${slipway.url}/#/`);
    const helloRow = page.getByRole("row").filter({ hasText: hello.fullName });
    // The list is refreshed while shown: the build that just ended appears without a reload.
    await helloRow.filter({ hasText: "success" }).waitFor();
    assert.match(await helloRow.innerText(), /latest/);
    assert.match(await helloRow.innerText(), new RegExp(built.commit.slice(0, 7)));
    await screenshot(page, "repositories");

    await page.getByLabel("Search by name").fill(hello.name);
    await page.getByRole("row").filter({ hasText: other.fullName }).waitFor({ state: "detached" });
    assert.match(page.url(), new RegExp(`q=${hello.name}`));
    await assertLabelled("repositories");

    await page.getByRole("link", { name: hello.fullName }).click();
    await page.getByRole("heading", { name: hello.fullName, level: 1 }).waitFor();
    const row = page.locator("tbody tr").filter({ has: page.locator(`a[href="#/b/${built.id}"]`) });
    await row.waitFor();
    const text = await row.innerText();
    for (const expected of ["success", "main", built.commit.slice(0, 7), "hello: first commit", "latest", "manual"]) {
      assert.ok(text.includes(expected), `the build's row shows ${expected}: ${text}`);
    }
    assert.equal(await page.locator(".chart-svg rect.bar-success").count(), 1, "the chart draws the build");
    assert.match(await page.locator(".legend").innerText(), /succeeded: 1/);

    // Filters by status and by branch or tag (keyset pages of the same list).
    const filters = page.getByRole("search", { name: "Filter builds" });
    await filters.getByLabel("Status").selectOption("failed");
    await page.getByText("No build matches these filters.").waitFor();
    assert.match(page.url(), /status=failed/);
    await filters.getByLabel("Status").selectOption("");
    await filters.getByLabel("Branch or tag").fill("main");
    await filters.getByRole("button", { name: "Filter" }).click();
    await row.waitFor();
    assert.match(page.url(), /source=main/);
    await filters.getByLabel("Branch or tag").fill("nope");
    await filters.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No build matches these filters.").waitFor();
    await filters.getByLabel("Branch or tag").fill("");
    await filters.getByRole("button", { name: "Filter" }).click();
    await row.waitFor();
    await assertLabelled("repository");
    await screenshot(page, "repository");
  });

  it("follows a running build's log as it is written, in colour, until it succeeds", async () => {
    const mark = nonce();
    const repo = await link("live", {
      Dockerfile: dockerfile([`RUN printf '\\033[32mcoloured ${mark}\\033[0m\\n'`, "RUN for i in 1 2 3 4 5; do echo step $i; sleep 1; done"]),
    });
    const id = await buildByHand(repo);
    await page.goto(`${slipway.url}/#/b/${id}`);
    await page.evaluate("window.__sameDocument = true");

    const early = await waitFor("step 1 in the page's log", async () => {
      const text = await logText();
      return /^step 1$/m.test(text) ? text : undefined;
    }, 60_000, 100);
    assert.doesNotMatch(early, /^step 5$/m, "the log is shown while the build runs, not when it is over");
    const running = await slipway.api("GET", `/builds/${id}`);
    assert.equal(running.body.status, "building");
    const linesEarly = await page.locator(".log-line").count();
    await waitFor("the page to show the build building", async () => ((await buildStatus()) === "building" ? true : undefined), 10_000, 100);
    assert.equal(await page.locator(".timeline [aria-current=step] .step-name").innerText(), "Building");
    await screenshot(page, "build-running");

    await waitFor("the build to succeed in the page", async () => ((await buildStatus()) === "success" ? true : undefined), 60_000, 100);
    const text = await logText();
    assert.match(text, /^step 5$/m);
    assert.ok((await page.locator(".log-line").count()) > linesEarly, "the log grew in place");
    assert.equal(await page.evaluate("window.__sameDocument"), true, "without a reload");
    assert.equal(await page.locator(".log .ansi-fg-2").filter({ hasText: `coloured ${mark}` }).count(), 1, "ANSI green became a class");
    assert.ok(!text.includes("\u001b["), "no escape codes are shown");
    await page.getByText(/Ended \(success\)/).waitFor();
    assert.equal(await page.locator(".timeline .step-name").last().innerText(), "Done: success");

    const build = await slipway.api("GET", `/builds/${id}`);
    await page.getByText(`docker pull ${build.body.image}@${build.body.digest}`).waitFor();
    await page.getByRole("button", { name: "Retry" }).waitFor();

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
    assert.equal(download.suggestedFilename(), `slipway-build-${id}.log`);
    const saved = readFileSync(await download.path(), "utf8");
    assert.match(saved, /^step 5$/m);
    await assertLabelled("build");
    await page.locator(".log").evaluate("(el) => { el.scrollTop = 0 }");
    await screenshot(page, "build");
  });

  it("cancels a running build", async () => {
    const mark = nonce();
    const repo = await link("cancel", { Dockerfile: dockerfile([`RUN echo "sleeping ${mark}" && sleep 60`]) });
    const id = await buildByHand(repo);
    await page.goto(`${slipway.url}/#/b/${id}`);
    await waitFor("the RUN step's output in the page's log", async () => ((await logText()).split("\n").includes(`sleeping ${mark}`) ? true : undefined), 60_000, 100);
    await page.getByRole("button", { name: "Cancel build" }).click();
    await waitFor("the page to show the build canceled", async () => ((await buildStatus()) === "canceled" ? true : undefined), 20_000, 100);
    await page.getByText(/Ended \(canceled\)/).waitFor();
    assert.equal((await slipway.api("GET", `/builds/${id}`)).body.status, "canceled");
    await page.getByRole("button", { name: "Retry" }).waitFor();
  });

  it("retries a failed build, and shows why it failed", async () => {
    const repo = await link("broken", { Dockerfile: dockerfile([`RUN echo "about to fail ${nonce()}" && exit 3`]) });
    const failed = await slipway.waitForBuild(await buildByHand(repo));
    assert.equal(failed.status, "failed");
    await page.goto(`${slipway.url}/#/b/${failed.id}`);
    await page.getByRole("alert").filter({ hasText: "dockerfile_error" }).waitFor();
    await page.getByText(/Ended \(failed\)/).waitFor();
    await screenshot(page, "build-failed");

    await page.getByRole("button", { name: "Retry" }).click();
    const retryId = await waitFor("the page to move to the new build", () => {
      const match = /#\/b\/([^/?]+)$/.exec(page.url());
      return match && match[1] !== failed.id ? match[1] : undefined;
    }, 10_000);
    await page.getByText("retry of").waitFor();
    assert.equal(await page.getByRole("link", { name: `build ${failed.id.slice(-8)}` }).getAttribute("href"), `#/b/${failed.id}`);
    const retried = await slipway.api("GET", `/builds/${retryId}`);
    assert.deepEqual(retried.body.cause, { type: "retry", retryOf: failed.id });
    assert.equal(retried.body.commit, failed.commit);
    await waitFor("the retry to end", async () => ((await buildStatus()) === "failed" ? true : undefined), 60_000, 100);
  });

  it("adds a build rule, toggles its autobuild, and tries the rules", async () => {
    await page.goto(`${slipway.url}/#/r/${hello.fullName}/settings`);
    await page.getByRole("heading", { name: "Build rules" }).waitFor();
    await page.getByText("Add a rule").click();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Source type").selectOption("tag");
    await form.getByLabel("Source name").fill("/^v([0-9.]+)$/");
    await form.getByLabel("Docker tag").fill("{\\1},stable");
    await form.getByLabel("Build args").fill("FLAVOUR=slim");
    await form.getByRole("button", { name: "Add rule" }).click();
    await page.getByText("Rule added.").waitFor();
    await page.getByRole("heading", { name: "Rule 2: tag /^v([0-9.]+)$/ → {\\1},stable" }).waitFor();

    const rules = await slipway.api("GET", `/repositories/${hello.fullName}/rules`);
    const added = rules.body.rules.find((r: any) => r.sourceType === "tag");
    assert.deepEqual(
      { sourceName: added.sourceName, dockerTag: added.dockerTag, autobuild: added.autobuild, buildArgs: added.buildArgs },
      { sourceName: "/^v([0-9.]+)$/", dockerTag: "{\\1},stable", autobuild: true, buildArgs: { FLAVOUR: "slim" } },
    );

    await page.locator(`[data-rule="${added.id}"]`).getByLabel("Autobuild on push").uncheck();
    await page.getByText("Autobuild is off.").waitFor();
    const toggled = await slipway.api("GET", `/repositories/${hello.fullName}/rules`);
    assert.equal(toggled.body.rules.find((r: any) => r.id === added.id).autobuild, false);

    await page.getByText("Try the rules (dry run)").click();
    const dryRun = page.getByRole("form", { name: "Dry run" });
    await dryRun.getByLabel("Type").selectOption("tag");
    await dryRun.getByLabel("Branch or tag").fill("v1.2");
    await dryRun.getByRole("button", { name: "Match" }).click();
    await page.getByText("A push would queue 0 builds.").waitFor();
    assert.match(await page.locator(".message-success").last().innerText(), /tags 1\.2, stable .*autobuild off/);
    await assertLabelled("settings");
    await screenshot(page, "settings");
  });

  it("creates a trigger URL; calling it shows the new build without a reload", async () => {
    await page.goto(`${slipway.url}/#/r/${hello.fullName}/settings`);
    const form = page.getByRole("form", { name: "New trigger URL" });
    await form.getByLabel("Name").fill("ci");
    await form.getByRole("button", { name: "Create trigger URL" }).click();
    const url = await page.locator("input.trigger-url").inputValue();
    assert.match(url, new RegExp(`^${slipway.url}/api/build/v1/source/[^/]+/trigger/[^/]+/call/$`));
    await page.getByRole("row").filter({ hasText: "ci" }).getByRole("button", { name: "Revoke" }).waitFor();

    await page.getByRole("link", { name: "Builds", exact: true }).click();
    await page.getByRole("heading", { name: "Builds", level: 2 }).waitFor();
    await page.evaluate("window.__sameDocument = true");
    await page.locator("tbody tr").first().waitFor();
    const before = await page.locator("tbody tr").count();

    const called = await fetch(url, { method: "POST" });
    assert.equal(called.status, 202);
    const [queued] = ((await called.json()) as any).builds;
    const row = page.locator("tbody tr").filter({ has: page.locator(`a[href="#/b/${queued.id}"]`) });
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /trigger/);
    assert.equal(await page.locator("tbody tr").count(), before + 1);
    await row.filter({ hasText: "success" }).waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate("window.__sameDocument"), true, "the list was refreshed in place, not reloaded");
    await screenshot(page, "repository-builds");
  });

  it("starts a build by hand through a rule", async () => {
    await page.goto(`${slipway.url}/#/r/${hello.fullName}`);
    await page.getByText("Start a build").click();
    const rules = await slipway.api("GET", `/repositories/${hello.fullName}/rules`);
    const main = rules.body.rules.find((r: any) => r.sourceName === "main");
    await page.getByLabel("Rule").selectOption(main.id);
    assert.equal(await page.getByLabel("Branch or tag", { exact: true }).first().inputValue(), "main", "the rule's branch is filled in");
    await page.getByRole("button", { name: "Start build" }).click();
    const queued = page.locator(".message-success a").filter({ hasText: "main → latest" });
    await queued.waitFor();
    const id = (await queued.getAttribute("href"))!.replace("#/b/", "");
    await page.locator("tbody tr").filter({ has: page.locator(`a[href="#/b/${id}"]`) }).filter({ hasText: "manual" }).waitFor();
    assert.equal((await slipway.waitForBuild(id)).status, "success");
  });

  it("sets up a webhook and a secret build variable; shows the webhook's deliveries and sends one again", async () => {
    await page.goto(`${slipway.url}/#/r/${hello.fullName}/settings`);
    const variables = page.getByRole("form", { name: "Set a build variable" });
    await variables.getByLabel("Key").fill("DEPLOY_TOKEN");
    await variables.getByLabel("Value").fill("s3cret-value-123");
    await variables.getByLabel("Secret").check();
    await variables.getByRole("button", { name: "Save variable" }).click();
    await page.getByText("DEPLOY_TOKEN saved.").waitFor();
    const row = page.getByRole("row").filter({ hasText: "DEPLOY_TOKEN" });
    assert.match(await row.innerText(), /secret: hidden/);
    assert.ok(!(await page.content()).includes("s3cret-value-123"), "the secret is not shown again");

    await page.getByText("Add a webhook").click();
    const hooks = page.getByRole("form", { name: "New webhook" });
    await hooks.getByLabel("Name").fill("chat");
    await hooks.getByLabel("URL").fill(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slipway`);
    await hooks.getByLabel("Secret").fill("hook-secret");
    await hooks.getByRole("button", { name: "Add webhook" }).click();
    await page.getByText('Webhook "chat" added.').waitFor();
    await page.getByRole("heading", { name: "chat", level: 3 }).waitFor();
    assert.match(await page.locator("#section-webhooks").innerText(), /signed/);

    const built = await slipway.waitForBuild(await buildByHand(hello));
    assert.equal(built.status, "success");
    await waitFor("the push delivery", () => (received.includes("push") ? true : undefined), 20_000);

    await page.locator("#section-webhooks").getByText("Deliveries", { exact: true }).click();
    const delivery = page.locator("#section-webhooks tbody tr").filter({ has: page.locator(`a[href="#/b/${built.id}"]`) });
    await delivery.waitFor();
    assert.match(await delivery.innerText(), /push[\s\S]*delivered[\s\S]*#1 .*HTTP 200/);
    await delivery.getByRole("button", { name: "Send again" }).click();
    await waitFor("the delivery sent again", () => (received.filter((e) => e === "push").length >= 2 ? true : undefined), 20_000);
    await waitFor("the second attempt in the page", async () => ((await delivery.innerText()).includes("#2 ") ? true : undefined), 20_000, 200);
    await assertLabelled("settings");
  });

  it("shows the inbound deliveries", async () => {
    const payload = githubPushPayload({ repository: hello.forgeName, ref: "refs/heads/main", after: hello.commit, cloneUrl: git.url(hello.forgeName) });
    const delivered = await sendGithubDelivery(hello.webhookUrl, payload, { secret: hello.secret });
    assert.equal(delivered.status, 202, JSON.stringify(delivered.body));
    const rejected = await sendGithubDelivery(hello.webhookUrl, payload, { secret: "not-the-secret" });
    assert.equal(rejected.status, 401);
    await slipway.waitForBuild(delivered.body.builds[0].id);

    await page.goto(`${slipway.url}/#/deliveries`);
    const accepted = page.locator("tbody tr").filter({ has: page.locator(`a[href="#/b/${delivered.body.builds[0].id}"]`) });
    await accepted.waitFor();
    assert.match(await accepted.innerText(), /github[\s\S]*push[\s\S]*queued[\s\S]*202/);
    const refused = page.locator("tbody tr").filter({ hasText: "rejected" });
    assert.match(await refused.first().innerText(), /401/);
    await screenshot(page, "deliveries");
  });

  it("fits a phone (390 px wide), and signs out", async () => {
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "light", reducedMotion: "reduce" });
    try {
      const small = await phone.newPage();
      small.on("pageerror", (err) => pageErrors.push(err.message));
      await small.goto(`${slipway.url}/`);
      await small.getByLabel("Admin token").fill(slipway.adminToken);
      await small.getByRole("button", { name: "Sign in" }).click();
      await small.getByRole("heading", { name: "Repositories", level: 1 }).waitFor();
      await small.goto(`${slipway.url}/#/r/${hello.fullName}`);
      // The repositories list's rows stay until the repository page replaces them: wait for the page's own.
      await small.getByRole("heading", { name: "Builds", level: 2 }).waitFor();
      await small.locator("tbody tr").first().waitFor();
      const overflow = await small.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
      assert.ok(overflow <= 0, `the repository page fits 390 px (it is ${overflow} px too wide)`);
      // On a phone each build is a card: its cells stack, each beside its column's name.
      const card: string[] = await small.locator("tbody tr").first().evaluate((row: any) => {
        // In the page: the tests are compiled without the DOM's types.
        const style = (globalThis as any).getComputedStyle;
        return [style(row).display, style(row.cells[0]).display, style(row.cells[0], "::before").content];
      });
      assert.deepEqual(card.slice(0, 2), ["block", "grid"]);
      assert.match(card[2]!, /Status|attr/);
      await screenshot(small, "repository-phone");

      await small.getByRole("button", { name: "Sign out" }).click();
      await small.getByRole("heading", { name: "Sign in to Slipway" }).waitFor();
      assert.equal((await phone.cookies()).filter((c) => c.name === "slipway_session").length, 0, "the cookie is gone");
      const after = await small.evaluate<number>("fetch('/api/v1/users/me').then((r) => r.status)");
      assert.equal(after, 401);
    } finally {
      await phone.close();
    }
  });

  it("raised no script errors on any page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
