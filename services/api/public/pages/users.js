import { api } from "../lib/api.js";
import { cell, field, h, message, table, timeAgo } from "../lib/dom.js";
import { apiForm } from "../lib/forms.js";

/** What usernames and organisation names may be (they share one space). */
export const NAME_PATTERN = "[a-z0-9][a-z0-9_\\-]{0,62}[a-z0-9]";
export const NAME_HINT = "2–64 lowercase letters, digits, - or _; users and organisations share these names";

/** The site's users, for administrators: who there is, and a new one. */
export async function usersPage(main, ctx) {
  ctx.setTitle("Users");
  if (!ctx.user?.admin) {
    main.replaceChildren(h("h1", {}, "Users"), message("error", "Only administrators manage users."));
    return;
  }
  const list = h("div");
  const username = h("input", { name: "username", required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "none", pattern: NAME_PATTERN, maxlength: "64" });
  const password = h("input", { type: "password", name: "password", required: true, autocomplete: "new-password", minlength: "8", maxlength: "1024" });
  const email = h("input", { type: "email", name: "email", autocomplete: "off" });
  const admin = h("input", { type: "checkbox", name: "admin" });

  async function reload() {
    const { users } = await api("/users", { signal: ctx.signal });
    list.replaceChildren(table("Users", ["Username", "Email", "Role", "Created"], h("tbody", {}, users.map((user) =>
      h("tr", {},
        cell("Username", h("span", { class: "strong" }, user.username), user.username === ctx.user.username ? [" ", h("span", { class: "pill" }, "you")] : null),
        cell("Email", user.email ?? h("span", { class: "muted" }, "—")),
        cell("Role", user.admin ? h("span", { class: "badge" }, "administrator") : "user"),
        cell("Created", timeAgo(user.createdAt)))))));
  }

  main.replaceChildren(
    h("div", { class: "page-head" },
      h("h1", {}, "Users"),
      h("p", { class: "muted" }, "Everyone who may sign in. A user owns the repositories of their namespace (alice/…), creates organisations and personal access tokens; an administrator may do everything.")),
    list,
    h("section", { class: "card settings-section", "aria-labelledby": "new-user-title" },
      h("h2", { id: "new-user-title" }, "New user"),
      apiForm({
        label: "New user",
        submitLabel: "Create user",
        onSubmit: async (form) => {
          const body = { username: username.value.trim().toLowerCase(), password: password.value, admin: admin.checked };
          if (email.value.trim()) body.email = email.value.trim();
          const user = await api("/users", { method: "POST", body });
          form.reset();
          await reload();
          return `${user.username} created: they sign in with that password, and may change it under Account.`;
        },
      },
      field("Username", username, NAME_HINT),
      field("Password", password, "at least 8 characters; hand it over safely"),
      field("Email", email, "optional"),
      h("label", { class: "check" }, admin, " Administrator"))),
  );
  await reload();
}
