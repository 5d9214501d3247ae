import { api } from "../../lib/api.js";
import { announce, cell, confirmButton, copyButton, field, fieldWithButtons, h, message, table, timeAgo } from "../../lib/dom.js";
import { apiForm } from "../../lib/forms.js";

/** The URL of a new trigger: shown once, with a copy button and a curl line. */
function created(trigger) {
  const url = h("input", { type: "text", readonly: true, value: trigger.url, class: "mono trigger-url", spellcheck: "false" });
  const curl = `curl -X POST "${trigger.url}"`;
  return message("success",
    h("p", {}, `Trigger "${trigger.name}" created. Copy its URL now: Slipway keeps only a hash of it, so it is not shown again.`),
    fieldWithButtons("Trigger URL", url, copyButton(trigger.url, "Copy the trigger URL")),
    h("p", { class: "muted" }, "Call it with:"),
    h("div", { class: "copy-line" }, h("code", {}, curl), copyButton(curl, "Copy the curl command")));
}

export function triggersSection({ base }) {
  const list = h("div");
  const name = h("input", { name: "name", required: true, maxlength: "100", autocomplete: "off", placeholder: "deploy pipeline" });

  async function reload() {
    const { triggers } = await api(`${base}/triggers`);
    if (triggers.length === 0) {
      list.replaceChildren(h("p", { class: "muted" }, "No trigger URLs."));
      return;
    }
    list.replaceChildren(table("Trigger URLs", ["Name", "Created", "Last used", ""], h("tbody", {}, triggers.map((t) =>
      h("tr", {},
        cell("Name", t.name),
        cell("Created", timeAgo(t.createdAt)),
        cell("Last used", t.lastUsedAt ? timeAgo(t.lastUsedAt) : h("span", { class: "muted" }, "never")),
        cell("Actions", confirmButton("Revoke", `Revoke "${t.name}"? Its URL stops working.`, async () => {
          await api(`${base}/triggers/${t.id}`, { method: "DELETE" });
          await reload();
          announce(`Trigger ${t.name} revoked`);
        })))))));
  }

  reload().catch((err) => list.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, "Docker Hub's build triggers: a POST to the URL builds (every autobuild rule, or the tag or branch the body names)."),
    list,
    apiForm({
      label: "New trigger URL",
      submitLabel: "Create trigger URL",
      onSubmit: async (form) => {
        const trigger = await api(`${base}/triggers`, { method: "POST", body: { name: name.value.trim() } });
        form.reset();
        await reload();
        return created(trigger);
      },
    }, field("Name", name)));
}
