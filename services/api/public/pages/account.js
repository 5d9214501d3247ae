import { api } from "../lib/api.js";
import { announce, cell, confirmButton, copyButton, field, fieldWithButtons, h, message, table, timeAgo } from "../lib/dom.js";
import { apiForm } from "../lib/forms.js";

/** A token's scope caps its user's role: the same three words as the roles. */
export const SCOPES = [
  ["read", "read: pull, see builds"],
  ["write", "write: also push, start builds"],
  ["admin", "admin: also settings, accounts and tokens"],
];

/** A day, with the exact time as its tooltip. */
function day(iso) {
  return h("time", { datetime: iso, title: new Date(iso).toLocaleString() }, new Date(iso).toLocaleDateString());
}

function expiry(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  return Date.parse(iso) <= Date.now() ? [day(iso), " ", h("span", { class: "pill" }, "expired")] : day(iso);
}

/** A new token: its value is in this answer only, so it is shown here, once, beside a copy button. */
function createdToken(token, username) {
  const value = h("input", { type: "text", readonly: true, value: token.token, class: "mono token-value", spellcheck: "false", onfocus: (event) => event.target.select() });
  setTimeout(() => value.focus());
  return message("success",
    h("p", {}, h("strong", {}, `Token "${token.name}" created.`), " Copy it now: you will not see it again (Slipway keeps only its hash)."),
    fieldWithButtons("Your new token", value, copyButton(token.token, "Copy the token")),
    h("p", { class: "muted" }, "Give it as the password of ", h("code", {}, `docker login -u ${username}`), ", or as ", h("code", {}, "Authorization: Bearer"), " to the API."));
}

function tokensSection(me) {
  const list = h("div");
  const feedback = h("div");
  const name = h("input", { name: "name", required: true, maxlength: "100", autocomplete: "off", placeholder: "ci" });
  const scope = h("select", { name: "scope" }, SCOPES.map(([value, label]) => h("option", { value }, label)));
  const tomorrow = new Date(Date.now() + 86_400_000);
  const expires = h("input", { type: "date", name: "expiresAt", min: `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, "0")}-${String(tomorrow.getDate()).padStart(2, "0")}` });

  async function reload() {
    const { tokens } = await api("/tokens");
    if (tokens.length === 0) {
      list.replaceChildren(h("p", { class: "muted" }, "No personal access tokens."));
      return;
    }
    list.replaceChildren(table("Personal access tokens", ["Name", "Scope", "Created", "Expires", "Last used", ""], h("tbody", {}, tokens.map((t) =>
      h("tr", {},
        cell("Name", h("span", { class: "strong" }, t.name)),
        cell("Scope", h("span", { class: "badge" }, t.scope)),
        cell("Created", timeAgo(t.createdAt)),
        cell("Expires", expiry(t.expiresAt)),
        cell("Last used", t.lastUsedAt ? timeAgo(t.lastUsedAt) : h("span", { class: "muted" }, "never")),
        cell("Actions", confirmButton("Revoke", `Revoke "${t.name}"? Whatever uses it is refused at once.`, async () => {
          feedback.replaceChildren();
          try {
            await api(`/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
            await reload();
            announce(`Token ${t.name} revoked`);
          } catch (err) {
            feedback.replaceChildren(message("error", `Could not revoke ${t.name}: ${err.message}`));
          }
        })))))));
  }

  reload().catch((err) => list.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, "For ", h("code", {}, "docker login"), " and scripts, in place of your password. A token's scope caps what it may do: a read token pulls, never pushes."),
    list,
    feedback,
    h("h3", { class: "form-title" }, "New token"),
    apiForm({
      label: "New personal access token",
      submitLabel: "Create token",
      onSubmit: async (form) => {
        const body = { name: name.value.trim(), scope: scope.value };
        // The end of the chosen day, where the user is.
        if (expires.value) body.expiresAt = new Date(`${expires.value}T23:59:59`).toISOString();
        const token = await api("/tokens", { method: "POST", body });
        form.reset();
        await reload();
        return createdToken(token, me.username);
      },
    },
    field("Name", name, "what uses it: ci, laptop…"),
    field("Scope", scope),
    field("Expires", expires, "optional: it stops working at the end of that day")));
}

function passwordSection(me) {
  let hasPassword = me.hasPassword;
  // For password managers: the account the new password belongs to.
  const username = h("label", { hidden: true }, "Username", h("input", { type: "text", name: "username", autocomplete: "username", value: me.username, readonly: true }));
  const current = h("input", { type: "password", name: "currentPassword", autocomplete: "current-password" });
  const next = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "1024" });
  const again = h("input", { type: "password", name: "passwordAgain", autocomplete: "new-password", required: true, minlength: "8", maxlength: "1024" });
  const currentField = field("Current password", current);
  const note = h("p", { class: "muted" });
  function show() {
    currentField.hidden = !hasPassword;
    current.required = hasPassword;
    note.textContent = hasPassword ? "At least 8 characters." : "You have no password yet (you signed in with the admin token): set one to sign in with your username.";
  }
  show();
  return h("div", {},
    note,
    apiForm({
      label: "Change your password",
      submitLabel: "Change password",
      onSubmit: async (form) => {
        if (next.value !== again.value) {
          again.focus();
          throw new Error("The new password and its repetition differ.");
        }
        await api("/users/me", { method: "PATCH", body: { password: next.value, ...(hasPassword ? { currentPassword: current.value } : {}) } });
        form.reset();
        hasPassword = true;
        show();
        return "Password changed.";
      },
    }, username, currentField, field("New password", next), field("New password again", again)));
}

/** The signed-in user: who they are, their password and their personal access tokens. */
export async function accountPage(main, ctx) {
  ctx.setTitle("Account");
  const me = await api("/users/me", { signal: ctx.signal });
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  const section = (id, title, body) => h("section", { class: "card settings-section", "aria-labelledby": id }, h("h2", { id }, title), body);
  main.replaceChildren(
    h("div", { class: "page-head" },
      h("h1", {}, "Account"),
      h("dl", { class: "facts" },
        row("Username", h("span", { class: "strong" }, me.username), me.admin ? [" ", h("span", { class: "pill" }, "administrator")] : null),
        row("Email", me.email ?? h("span", { class: "muted" }, "none")),
        row("Organisations", me.orgs.length
          ? me.orgs.map((org, i) => [i ? ", " : "", h("a", { href: `#/orgs/${encodeURIComponent(org)}` }, org)])
          : h("span", { class: "muted" }, "none: ", h("a", { href: "#/orgs" }, "create one"))),
        row("Member since", timeAgo(me.createdAt)))),
    section("password-title", "Password", passwordSection(me)),
    section("tokens-title", "Personal access tokens", tokensSection(me)),
  );
}
