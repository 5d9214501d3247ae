import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, screenshot, unlabelledControls } from "../support/browser.js";
import { startSlipway, waitFor, type Slipway } from "../support/slipway.js";

const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "staple battery horse";

/**
 * Accounts in the dashboard, in a real browser (Debian's Chromium through playwright-core) against a
 * real Slipway: a user signs in with a password, makes a personal access token, an organisation, a team
 * with a member and a repository, stars it; a member who does not own the organisation sees it without
 * its controls; only an administrator sees the users.
 */
describe("accounts in the dashboard, in a real browser", () => {
  let slipway: Slipway;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const org = "acme";
  const repo = `${org}/app`;

  /** Calls /api/v1 as a user, with HTTP Basic (a password or a token). */
  async function as(username: string, secret: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${slipway.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${secret}`).toString("base64")}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text && (res.headers.get("content-type") ?? "").includes("json") ? (JSON.parse(text) as any) : text };
  }

  async function newPage(viewport = { width: 1280, height: 900 }, extra: Record<string, unknown> = {}): Promise<{ context: BrowserContext; page: Page }> {
    const created = await browser!.newContext({ viewport, colorScheme: "light", reducedMotion: "reduce", ...extra });
    const opened = await created.newPage();
    opened.on("pageerror", (err) => pageErrors.push(err.message));
    return { context: created, page: opened };
  }

  async function signIn(on: Page, username: string, password: string) {
    await on.goto(`${slipway.url}/`);
    await on.getByLabel("Username").fill(username);
    await on.getByLabel("Password", { exact: true }).fill(password);
    await on.getByRole("button", { name: "Sign in" }).click();
    await on.getByRole("heading", { name: "Repositories", level: 1 }).waitFor();
  }

  async function assertLabelled(on: Page, where: string) {
    assert.deepEqual(await unlabelledControls(on), [], `every form control on the ${where} page has a label`);
  }

  async function assertFits(on: Page, where: string) {
    const overflow = await on.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    assert.ok(overflow <= 0, `the ${where} page fits 390 px (it is ${overflow} px too wide)`);
  }

  /** The main navigation's links a user sees, by their text. */
  const navLinks = (on: Page) => on.locator("#site-nav a").evaluateAll((links: any[]): string[] => links.filter((link) => !link.hidden).map((link) => link.textContent));

  before(async () => {
    // Password hashes at 2^12 rather than 2^17: the test signs in many times.
    slipway = await startSlipway({ worker: false, env: { SLIPWAY_PASSWORD_COST: "12" } });
    for (const username of ["alice", "bob"]) {
      const created = await slipway.api("POST", "/users", { username, password: PASSWORD, email: `${username}@example.org` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    browser = await launchBrowser();
    ({ context, page } = await newPage());
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: slipway.url });
  });
  after(async () => {
    await browser?.close();
    await slipway?.stop();
  });

  it("signs in with a username and password; the header names the user, and lists no administrators' page", async () => {
    await page.goto(`${slipway.url}/`);
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "That username and password were not accepted." }).waitFor();

    await signIn(page, "alice", PASSWORD);
    await page.getByRole("link", { name: "Account: alice" }).waitFor();
    assert.equal(await page.locator("#nav-username").innerText(), "alice", "the user's name is shown; its link names the Account page");
    assert.deepEqual(await navLinks(page), ["Repositories", "Organisations", "Account: alice"], "no Users nor Deliveries for a user who is not an administrator");
    assert.equal(await page.locator("#site-nav a[href='#/users']").isHidden(), true);
  });

  it("changes the password, after the current one", async () => {
    await page.getByRole("link", { name: "Account: alice" }).click();
    await page.getByRole("heading", { name: "Account", level: 1 }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Account: alice" }).getAttribute("aria-current"), "page");
    const form = page.getByRole("form", { name: "Change your password" });
    await form.getByLabel("Current password").fill("not the password");
    await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel("New password again").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "currentPassword" }).waitFor();

    await form.getByLabel("Current password").fill(PASSWORD);
    await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel("New password again").fill("not the same");
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "differ" }).waitFor();

    await form.getByLabel("New password again").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed.").waitFor();
    assert.equal((await as("alice", NEW_PASSWORD, "GET", "/users/me")).status, 200);
    assert.equal((await as("alice", PASSWORD, "GET", "/users/me")).status, 401);
  });

  it("creates a personal access token, shows it once with a copy button, and revokes it", async () => {
    const form = page.getByRole("form", { name: "New personal access token" });
    await form.getByLabel("Name").fill("ci");
    await form.getByLabel("Scope").selectOption("write");
    await form.getByLabel("Expires").fill("2099-12-31");
    await form.getByRole("button", { name: "Create token" }).click();
    const shown = page.getByRole("status").filter({ hasText: 'Token "ci" created.' });
    await shown.waitFor();
    assert.match(await shown.innerText(), /you will not see it again/);
    const token = await page.getByRole("textbox", { name: "Your new token" }).inputValue();
    assert.match(token, /^slw_/);
    assert.equal(await page.evaluate("document.activeElement.classList.contains('token-value')"), true, "the token has the focus, to be copied");
    await shown.getByRole("button", { name: /^Copy the token/ }).click();
    await shown.getByRole("button", { name: /^Copy the token/ }).filter({ hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate("navigator.clipboard.readText()"), token);

    const me = await as("alice", token, "GET", "/users/me");
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.scope, "write");
    const row = page.getByRole("row").filter({ hasText: "ci" });
    await waitFor("the token's last use in the list", async () => {
      await page.reload();
      await page.getByRole("heading", { name: "Account", level: 1 }).waitFor();
      return /s ago\s*$/.test(await row.locator("td").nth(4).innerText()) ? true : undefined;
    }, 10_000, 200);
    const cells = await row.locator("td").allInnerTexts();
    assert.equal(cells[1], "write");
    assert.match(cells[3]!, /2099/);
    assert.ok(!(await page.content()).includes(token), "once the page is left, the token is not shown again");
    await assertLabelled(page, "account");
    await screenshot(page, "account");

    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await page.getByText("No personal access tokens.").waitFor();
    assert.equal((await as("alice", token, "GET", "/users/me")).status, 401, "a revoked token is refused at once");
  });

  it("creates an organisation, a repository in it, a team with a member and access to the repository", async () => {
    await page.getByRole("link", { name: "Organisations" }).click();
    await page.getByRole("heading", { name: "Organisations", level: 1 }).waitFor();
    await page.getByText("You are in no organisation yet.").waitFor();
    const newOrg = page.getByRole("form", { name: "New organisation" });
    await newOrg.getByLabel("Name").fill(org);
    await newOrg.getByRole("button", { name: "Create organisation" }).click();
    await page.getByRole("heading", { name: org, level: 1 }).waitFor();
    assert.match(page.url(), /#\/orgs\/acme$/);
    assert.match(await page.locator("section[aria-labelledby=owners-title] ul").innerText(), /^alice\s*you$/);

    // An owner who is alone cannot be removed; adding someone unknown shows the API's refusal.
    assert.equal(await page.locator("section[aria-labelledby=owners-title]").getByRole("button", { name: "Remove" }).count(), 0);
    const addOwner = page.getByRole("form", { name: "Add an owner" });
    await addOwner.getByLabel("Username").fill("nobody");
    await addOwner.getByRole("button", { name: "Add owner" }).click();
    await page.getByRole("alert").filter({ hasText: "no user nobody" }).waitFor();

    // A repository in the organisation, from the repositories page; it may be pushed to by hand.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Repositories" }).click();
    await page.getByText("New repository").click();
    await page.getByLabel("Namespace").fill(org);
    await page.getByLabel("Name", { exact: true }).fill("app");
    await page.getByLabel("Private").check();
    await page.getByRole("button", { name: "Create repository" }).click();
    await page.getByRole("heading", { name: "Repository", level: 2 }).waitFor();
    const settings = page.getByRole("form", { name: "Repository" });
    const manualPush = settings.getByLabel("Pushes by hand");
    assert.equal(await manualPush.isChecked(), false);
    assert.match((await manualPush.getAttribute("aria-describedby"))!, /hint/);
    assert.match(await page.locator(`#${await manualPush.getAttribute("aria-describedby")}`).innerText(), /refused while the repository builds automatically/);
    await manualPush.check();
    await settings.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    assert.equal((await as("alice", NEW_PASSWORD, "GET", `/repositories/${repo}`)).body.manualPush, true);

    await page.goto(`${slipway.url}/#/orgs/${org}`);
    await page.getByText("Create a team").click();
    const newTeam = page.getByRole("form", { name: "New team" });
    await newTeam.getByLabel("Name").fill("devs");
    await newTeam.getByRole("button", { name: "Create team" }).click();
    await page.getByText("Team devs created.").waitFor();
    const team = page.locator("[data-team=devs]");
    await team.getByRole("heading", { name: "Team devs" }).waitFor();

    const addMember = page.getByRole("form", { name: "Add a member to devs" });
    await addMember.getByLabel("Username").fill("bob");
    await addMember.getByRole("button", { name: "Add member" }).click();
    await page.getByText("bob added to devs.").waitFor();

    const giveAccess = page.getByRole("form", { name: "Give devs access to a repository" });
    await giveAccess.getByLabel("Repository").selectOption({ label: repo });
    await giveAccess.getByLabel("Role").selectOption("write");
    await giveAccess.getByRole("button", { name: "Give access" }).click();
    await page.getByText(`devs has write on ${repo}.`).waitFor();
    const role = team.getByLabel(`Role of devs on ${repo}`);
    assert.equal(await role.inputValue(), "write");
    // The role changes at once, as the autobuild toggle does.
    await role.selectOption("read");
    await waitFor("the role to be saved", async () => ((await as("alice", NEW_PASSWORD, "GET", `/orgs/${org}/teams/devs`)).body.repositories[0]?.role === "read" ? true : undefined), 10_000, 100);
    const saved = await as("alice", NEW_PASSWORD, "GET", `/orgs/${org}/teams/devs`);
    assert.deepEqual({ members: saved.body.members, repositories: saved.body.repositories }, { members: ["bob"], repositories: [{ name: "app", fullName: repo, role: "read" }] });
    await assertLabelled(page, "organisation");
    await screenshot(page, "organisation");

    // Bob, through the team, now reads the private repository.
    assert.equal((await as("bob", PASSWORD, "GET", `/repositories/${repo}`)).status, 200);
  });

  it("stars a repository from its page, with the keyboard too, and the list counts it", async () => {
    await page.goto(`${slipway.url}/#/r/${repo}`);
    const star = page.getByRole("button", { name: "Star", exact: true });
    await star.waitFor();
    assert.equal(await star.getAttribute("aria-pressed"), "false");
    assert.equal(await page.locator(".star-count").innerText(), "0 stars");
    await star.click();
    await waitFor("the star to be pressed", async () => ((await star.getAttribute("aria-pressed")) === "true" ? true : undefined), 5_000, 50);
    assert.equal(await page.locator(".star-count").innerText(), "1 star");
    await waitFor("the announcement", async () => ((await page.locator("#announcer").innerText()) === `Starred ${repo}: 1 star` ? true : undefined), 5_000, 50);
    const seen = await as("alice", NEW_PASSWORD, "GET", `/repositories/${repo}`);
    assert.deepEqual({ starred: seen.body.starred, starCount: seen.body.starCount }, { starred: true, starCount: 1 });

    // Space toggles it, and the focus stays on it.
    await star.focus();
    await page.keyboard.press("Space");
    await waitFor("the star to be released", async () => ((await star.getAttribute("aria-pressed")) === "false" ? true : undefined), 5_000, 50);
    assert.equal(await page.locator(".star-count").innerText(), "0 stars");
    await page.keyboard.press("Enter");
    await waitFor("the star to be pressed again", async () => ((await star.getAttribute("aria-pressed")) === "true" ? true : undefined), 5_000, 50);
    assert.equal(await page.evaluate("document.activeElement.classList.contains('star-button')"), true);
    await screenshot(page, "repository-starred");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Repositories" }).click();
    const stars = page.getByRole("row").filter({ hasText: repo }).locator("td[data-label=Stars]");
    await stars.waitFor();
    assert.match(await stars.innerText(), /^★ 1\b/);
    assert.match(await stars.textContent() ?? "", /starred by you/, "said to a screen reader, not by the filled star alone");
  });

  it("shows a team member the organisation without its controls, and no Users page", async () => {
    const { context: bobs, page: bob } = await newPage();
    try {
      await signIn(bob, "bob", PASSWORD);
      assert.deepEqual(await navLinks(bob), ["Repositories", "Organisations", "Account: bob"]);
      await bob.getByRole("link", { name: "Organisations" }).click();
      await bob.getByRole("link", { name: org, exact: true }).click();
      await bob.getByRole("heading", { name: org, level: 1 }).waitFor();
      await bob.getByText(`Only the owners of ${org} manage it`).waitFor();
      assert.match(await bob.locator("[data-team=devs]").innerText(), /bob\s*you[\s\S]*acme\/app\s*read/);
      assert.equal(await bob.getByRole("button").filter({ hasText: /Remove|Delete team|Add owner|Add member|Give access|Create team/ }).count(), 0, "no management controls");
      assert.equal(await bob.locator("main select, main input").count(), 0);

      // What a hidden control would have done, the API refuses, and the page says why.
      await bob.goto(`${slipway.url}/#/users`);
      await bob.getByRole("alert").filter({ hasText: "Only administrators manage users." }).waitFor();
      await bob.goto(`${slipway.url}/#/r/${repo}/settings`);
      await bob.getByRole("heading", { name: "Repository", level: 2 }).waitFor();
      await bob.getByRole("form", { name: "Repository" }).getByRole("button", { name: "Save" }).click();
      await bob.locator("#section-general").getByRole("alert").filter({ hasText: "needs the admin role" }).waitFor();
    } finally {
      await bobs.close();
    }
  });

  it("lets a repository's admin who does not own the organisation give its teams access, from the repository's settings", async () => {
    assert.equal((await as("alice", NEW_PASSWORD, "POST", `/orgs/${org}/teams`, { name: "ops" })).status, 201);
    assert.equal((await as("alice", NEW_PASSWORD, "PUT", `/orgs/${org}/teams/devs/repositories/app`, { role: "admin" })).status, 200);
    const opsRole = async () => (await as("alice", NEW_PASSWORD, "GET", `/orgs/${org}/teams/ops`)).body.repositories[0]?.role;
    const { context: bobs, page: bob } = await newPage();
    try {
      await signIn(bob, "bob", PASSWORD);
      await bob.goto(`${slipway.url}/#/r/${repo}/settings`);
      const section = bob.locator("#section-teams");
      await section.getByRole("heading", { name: "Team access", level: 2 }).waitFor();
      assert.equal(await section.getByLabel(`Role of devs on ${repo}`).inputValue(), "admin");

      const give = section.getByRole("form", { name: "Give a team access" });
      assert.deepEqual(await give.getByLabel("Team").locator("option").allInnerTexts(), ["Choose one", "ops"], "only the teams without access");
      await give.getByLabel("Team").selectOption("ops");
      await give.getByLabel("Role").selectOption("read");
      await give.getByRole("button", { name: "Give access" }).click();
      await section.getByText(`ops has read on ${repo}.`).waitFor();
      assert.equal(await opsRole(), "read");

      // The role changes at once; then the access is taken away, after a second press.
      await section.getByLabel(`Role of ops on ${repo}`).selectOption("write");
      await waitFor("the role to be saved", async () => ((await opsRole()) === "write" ? true : undefined), 10_000, 100);
      const row = section.getByRole("row").filter({ hasText: "ops" });
      await row.getByRole("button", { name: "Remove" }).click();
      await row.getByRole("button", { name: "Yes, remove" }).click();
      await waitFor("the access to be removed", async () => ((await opsRole()) === undefined ? true : undefined), 10_000, 100);
      await section.getByRole("form", { name: "Give a team access" }).getByLabel("Team").waitFor();
      await assertLabelled(bob, "settings");
      await screenshot(bob, "settings-team-access");

      // Someone with read sees who has access, without the controls.
      assert.equal((await as("alice", NEW_PASSWORD, "PUT", `/orgs/${org}/teams/devs/repositories/app`, { role: "read" })).status, 200);
      await bob.reload();
      await section.getByRole("heading", { name: "Team access", level: 2 }).waitFor();
      await section.getByText(`Only the admins of ${repo} and the owners of ${org} change this.`).waitFor();
      assert.equal(await section.locator("select, input, button").count(), 0);
      assert.match(await section.getByRole("row").filter({ hasText: "devs" }).innerText(), /devs\s*read/);
    } finally {
      await bobs.close();
    }
  });

  it("lists the users to an administrator, who creates one", async () => {
    const { context: admins, page: admin } = await newPage();
    try {
      await admin.goto(`${slipway.url}/`);
      await admin.getByLabel("Admin token").fill(slipway.adminToken);
      await admin.getByRole("button", { name: "Sign in" }).click();
      await admin.getByRole("heading", { name: "Repositories", level: 1 }).waitFor();
      assert.deepEqual(await navLinks(admin), ["Repositories", "Organisations", "Deliveries", "Users", "Account: admin"]);
      await admin.getByRole("link", { name: "Users" }).click();
      await admin.getByRole("heading", { name: "Users", level: 1 }).waitFor();
      const form = admin.getByRole("form", { name: "New user" });
      await form.getByLabel("Username").fill("carol");
      await form.getByLabel("Password").fill("carol's password");
      await form.getByLabel("Email").fill("carol@example.org");
      await form.getByLabel("Administrator").check();
      await form.getByRole("button", { name: "Create user" }).click();
      await admin.getByText("carol created").waitFor();
      const rows = await admin.locator("tbody tr").allInnerTexts();
      assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ["admin", "alice", "bob", "carol"]);
      assert.match(rows[3]!, /carol@example\.org\s+administrator/);
      assert.equal((await as("carol", "carol's password", "GET", "/users/me")).body.admin, true);
      await assertLabelled(admin, "users");
      await screenshot(admin, "users");

      // Signed in with the admin token, the first administrator has no password to give yet.
      await admin.getByRole("link", { name: "Account: admin" }).click();
      await admin.getByText("You have no password yet").waitFor();
      assert.equal(await admin.getByLabel("Current password").isHidden(), true);
    } finally {
      await admins.close();
    }
  });

  it("fits a phone (390 px wide)", async () => {
    const { context: phone, page: small } = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true });
    try {
      await signIn(small, "alice", NEW_PASSWORD);
      await assertFits(small, "repositories");
      for (const [path, heading] of [["#/account", "Account"], ["#/orgs", "Organisations"], [`#/orgs/${org}`, org], [`#/r/${repo}`, repo]] as const) {
        await small.goto(`${slipway.url}/${path}`);
        await small.getByRole("heading", { name: heading, level: 1 }).waitFor();
        await assertFits(small, path);
      }
      await small.goto(`${slipway.url}/#/orgs/${org}`);
      await small.locator("[data-team=devs] tbody tr").waitFor();
      await screenshot(small, "organisation-phone");
    } finally {
      await phone.close();
    }
  });

  it("raised no script errors on any page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
