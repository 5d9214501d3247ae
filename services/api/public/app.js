// Slipway's dashboard: plain ES modules over the same /api/v1 routes users script against.
// Pages live in ./pages; each renders into <main> and registers what to stop when it is left.
import { ApiError, currentUser, resumeSession, signOut, whenSignedOut } from "./lib/api.js";
import { h, message } from "./lib/dom.js";
import { currentLocation } from "./lib/router.js";
import { accountPage } from "./pages/account.js";
import { buildPage } from "./pages/build.js";
import { deliveriesPage } from "./pages/deliveries.js";
import { orgPage, orgsPage } from "./pages/orgs.js";
import { repositoriesPage } from "./pages/repositories.js";
import { repositoryPage } from "./pages/repository.js";
import { settingsPage } from "./pages/settings.js";
import { signInPage } from "./pages/sign-in.js";
import { usersPage } from "./pages/users.js";

const main = document.getElementById("main");
const nav = document.getElementById("site-nav");

/** Each route: its pattern, the navigation entry it belongs to, and its page. */
const ROUTES = [
  [/^\/?$/, "repositories", repositoriesPage],
  [/^\/deliveries$/, "deliveries", deliveriesPage],
  [/^\/r\/([^/]+)\/([^/]+)\/settings$/, "repositories", settingsPage],
  [/^\/r\/([^/]+)\/([^/]+)$/, "repositories", repositoryPage],
  [/^\/b\/([^/]+)$/, "repositories", buildPage],
  [/^\/orgs$/, "orgs", orgsPage],
  [/^\/orgs\/([^/]+)$/, "orgs", orgPage],
  [/^\/users$/, "users", usersPage],
  [/^\/account$/, "account", accountPage],
];

let leave = new AbortController();
let signedIn = false;

/** The header names who signed in; administrators' pages are listed to administrators only. */
function showUser() {
  const user = currentUser();
  document.getElementById("nav-username").textContent = user?.username ?? "Account";
  for (const link of nav.querySelectorAll("[data-admin]")) link.hidden = !user?.admin;
}

/** What a page gets: its parameters and query, the signed-in user, a signal that aborts when it is left, and the router. */
function pageContext(params, query) {
  return {
    params,
    query,
    user: currentUser(),
    signal: leave.signal,
    navigate: (hash) => {
      location.hash = hash;
    },
    setTitle: (title) => {
      document.title = title ? `${title} · Slipway` : "Slipway";
    },
  };
}

async function route() {
  leave.abort();
  leave = new AbortController();
  const { path, query } = currentLocation();
  if (!signedIn) {
    nav.hidden = true;
    signInPage(main, pageContext([], query), async () => {
      signedIn = true;
      await route();
    });
    return;
  }
  showUser();
  nav.hidden = false;
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  for (const link of nav.querySelectorAll("a[data-nav]")) {
    if (found && link.dataset.nav === found[1]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!found) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/" }, "See the repositories.")));
    return;
  }
  const [pattern, , page] = found;
  const params = pattern.exec(path).slice(1).map(decodeURIComponent);
  const ctx = pageContext(params, query);
  try {
    await page(main, ctx);
  } catch (err) {
    if (ctx.signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) return;
    main.replaceChildren(h("h1", {}, "Something went wrong"), message("error", err.message));
  }
}

whenSignedOut(() => {
  if (!signedIn) return;
  signedIn = false;
  void route();
});

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await signOut();
  } finally {
    signedIn = false;
    location.hash = "#/";
    await route();
  }
});

// The skip link moves focus; following it as a link would change the route.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", () => void route());

try {
  signedIn = await resumeSession();
} catch (err) {
  main.replaceChildren(message("error", `Slipway did not answer: ${err.message}`));
}
await route();
