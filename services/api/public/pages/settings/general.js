import { api } from "../../lib/api.js";
import { confirmButton, field, h, message, uniqueId } from "../../lib/dom.js";
import { apiForm } from "../../lib/forms.js";

export function generalSection({ repo, base, ctx }) {
  const description = h("input", { name: "description", value: repo.description ?? "", autocomplete: "off" });
  const isPrivate = h("input", { type: "checkbox", name: "private", checked: repo.private });
  const manualPushHint = uniqueId("hint");
  const manualPush = h("input", { type: "checkbox", name: "manualPush", checked: repo.manualPush, "aria-describedby": manualPushHint });
  const registry = h("input", { name: "registry", value: repo.registry?.url ?? "", autocomplete: "off", placeholder: "registry.example.com:5000" });
  const username = h("input", { name: "registryUsername", value: repo.registry?.username ?? "", autocomplete: "off" });
  const password = h("input", { name: "registryPassword", type: "password", autocomplete: "new-password" });
  const deleted = h("div");
  return h("div", {},
    apiForm({
      label: "Repository",
      submitLabel: "Save",
      onSubmit: async () => {
        const body = { description: description.value, private: isPrivate.checked, manualPush: manualPush.checked };
        // A blank registry returns to Slipway's default one.
        if (registry.value.trim()) {
          body.registry = { url: registry.value.trim(), ...(username.value.trim() ? { username: username.value.trim() } : {}), ...(password.value ? { password: password.value } : {}) };
        } else if (repo.registry) {
          body.registry = null;
        }
        const saved = await api(base, { method: "PATCH", body });
        password.value = "";
        return `Saved. Images go to ${saved.image}.`;
      },
    },
    field("Description", description),
    h("label", { class: "check" }, isPrivate, " Private"),
    h("div", { class: "field" },
      h("label", { class: "check" }, manualPush, " Pushes by hand"),
      h("span", { class: "hint", id: manualPushHint }, h("code", {}, "docker push"), " by hand is refused while the repository builds automatically, as on Docker Hub, unless allowed here.")),
    field("Registry", registry, `blank: Slipway's default registry (images go to ${repo.image})`),
    field("Registry username", username),
    field("Registry password", password, "kept encrypted; give it again when changing the registry")),
    h("div", { class: "danger-zone" },
      h("h3", {}, "Delete this repository"),
      h("p", { class: "muted" }, "Removes its source, rules, trigger URLs, webhooks, variables and builds. Images already pushed stay in the registry."),
      confirmButton("Delete repository", `Delete ${repo.fullName} for good?`, async () => {
        try {
          await api(base, { method: "DELETE" });
          ctx.navigate("#/");
        } catch (err) {
          deleted.replaceChildren(message("error", err.message));
        }
      }),
      deleted));
}
