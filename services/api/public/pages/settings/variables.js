import { api } from "../../lib/api.js";
import { announce, cell, confirmButton, field, h, message, table, timeAgo } from "../../lib/dom.js";
import { apiForm } from "../../lib/forms.js";

export function variablesSection({ base }) {
  const list = h("div");
  const key = h("input", { name: "key", required: true, pattern: "[A-Za-z_][A-Za-z0-9_]{0,127}", autocomplete: "off", spellcheck: "false", placeholder: "NPM_TOKEN" });
  const value = h("textarea", { name: "value", rows: "2", spellcheck: "false" });
  const secret = h("input", { type: "checkbox", name: "secret" });

  async function reload() {
    const { variables } = await api(`${base}/variables`);
    if (variables.length === 0) {
      list.replaceChildren(h("p", { class: "muted" }, "No build variables."));
      return;
    }
    list.replaceChildren(table("Build variables", ["Key", "Value", "Updated", ""], h("tbody", {}, variables.map((v) =>
      h("tr", {},
        cell("Key", h("code", {}, v.key)),
        cell("Value", v.secret ? h("span", { class: "pill" }, "secret: hidden") : h("code", { class: "break" }, v.value === "" ? '""' : v.value)),
        cell("Updated", timeAgo(v.updatedAt)),
        cell("Actions",
          h("button", { type: "button", class: "small", onclick: () => { key.value = v.key; value.value = v.secret ? "" : v.value; secret.checked = v.secret; value.focus(); } }, "Edit"),
          " ",
          confirmButton("Delete", `Delete ${v.key}?`, async () => {
            await api(`${base}/variables/${encodeURIComponent(v.key)}`, { method: "DELETE" });
            await reload();
            announce(`${v.key} deleted`);
          })))))));
  }

  reload().catch((err) => list.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, "Given to builds as build args where the Dockerfile declares them (", h("code", {}, "ARG NAME"), "). A secret one is never shown again and is masked in logs."),
    list,
    apiForm({
      label: "Set a build variable",
      submitLabel: "Save variable",
      onSubmit: async (form) => {
        const saved = await api(`${base}/variables/${encodeURIComponent(key.value.trim())}`, { method: "PUT", body: { value: value.value, secret: secret.checked } });
        form.reset();
        await reload();
        return `${saved.key} saved.`;
      },
    }, field("Key", key), field("Value", value, "saving an existing key replaces it"), h("label", { class: "check" }, secret, " Secret")));
}
