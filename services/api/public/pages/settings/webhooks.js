import { api } from "../../lib/api.js";
import { announce, cell, confirmButton, field, formatDuration, h, message, shortId, table, timeAgo } from "../../lib/dom.js";
import { apiForm } from "../../lib/forms.js";

const DELIVERY_ICON = { delivered: "✓", failed: "✕", pending: "…" };

function attemptsList(delivery) {
  if (delivery.attempts.length === 0) return h("span", { class: "muted" }, "not sent yet");
  return h("ol", { class: "attempts" }, delivery.attempts.map((a) =>
    h("li", {}, `#${a.attempt} `, timeAgo(a.at), ": ",
      a.statusCode !== null ? h("code", {}, `HTTP ${a.statusCode}`) : h("span", {}, a.error ?? "no answer"),
      a.durationMs !== null && a.durationMs !== undefined ? ` in ${formatDuration(a.durationMs)}` : "",
      a.response ? h("details", {}, h("summary", {}, "answer"), h("pre", { class: "response" }, a.response)) : null)));
}

/** A webhook's deliveries, read when its <details> is opened, each with its attempts and "Send again". */
function deliveries(base, hook) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const path = `${base}/webhooks/${hook.id}/deliveries`;
  let timer;
  async function load() {
    clearTimeout(timer);
    const { deliveries: items } = await api(`${path}?limit=20`);
    // While a delivery is being sent (or retried), its attempts are read again.
    if (items.some((d) => d.status === "pending")) {
      timer = setTimeout(() => {
        if (wrap.isConnected && wrap.open) load().catch((err) => body.replaceChildren(message("error", err.message)));
      }, 2000);
    }
    if (items.length === 0) {
      body.replaceChildren(h("p", { class: "muted" }, "No deliveries yet: one is sent when a build ends."));
      return;
    }
    body.replaceChildren(table(`Deliveries of ${hook.name}`, ["Sent for", "Event", "Status", "Attempts", ""], h("tbody", {}, items.map((d) =>
      h("tr", {},
        cell("Sent for", d.buildId ? h("a", { href: `#/b/${d.buildId}` }, `build ${shortId(d.buildId)}`) : "—", d.tag ? [" ", h("span", { class: "tag" }, d.tag)] : null, h("div", { class: "muted small-text" }, timeAgo(d.createdAt))),
        cell("Event", h("code", {}, d.event)),
        cell("Status", h("span", { class: `badge delivery-${d.status}` }, h("span", { class: "badge-icon", "aria-hidden": "true" }, DELIVERY_ICON[d.status] ?? "●"), d.status)),
        cell("Attempts", attemptsList(d)),
        cell("Actions", h("button", {
          type: "button",
          class: "small",
          onclick: async (event) => {
            event.target.disabled = true;
            try {
              await api(`${path}/${d.id}/redeliver`, { method: "POST" });
              announce("Sent again");
              await load();
            } catch (err) {
              body.prepend(message("error", err.message));
              event.target.disabled = false;
            }
          },
        }, "Send again")))))));
  }
  const wrap = h("details", { class: "hook-deliveries" }, h("summary", {}, "Deliveries"), body);
  wrap.addEventListener("toggle", () => {
    if (wrap.open) load().catch((err) => body.replaceChildren(message("error", err.message)));
  });
  return wrap;
}

export function webhooksSection({ base }) {
  const list = h("ul", { class: "plain-list" });
  const name = h("input", { name: "name", required: true, maxlength: "100", autocomplete: "off", placeholder: "chat" });
  const url = h("input", { name: "url", type: "url", required: true, autocomplete: "off", placeholder: "https://hooks.example.com/slipway" });
  const secret = h("input", { name: "secret", type: "password", autocomplete: "new-password" });

  async function reload() {
    const { webhooks } = await api(`${base}/webhooks`);
    if (webhooks.length === 0) {
      list.replaceChildren(h("li", { class: "muted" }, "No webhooks."));
      return;
    }
    list.replaceChildren(...webhooks.map((hook) =>
      h("li", { class: "subcard" },
        h("div", { class: "title-row" },
          h("h3", {}, hook.name),
          confirmButton("Delete", `Delete the webhook "${hook.name}"?`, async () => {
            await api(`${base}/webhooks/${hook.id}`, { method: "DELETE" });
            await reload();
            announce(`Webhook ${hook.name} deleted`);
          })),
        h("p", {}, h("code", { class: "break" }, hook.url), " ", h("span", { class: "pill" }, hook.hasSecret ? "signed" : "unsigned"), " ", h("span", { class: "muted" }, "added ", timeAgo(hook.createdAt))),
        deliveries(base, hook))));
  }

  reload().catch((err) => list.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, "When a build ends, Slipway POSTs Docker Hub's payload to each (X-Slipway-Signature-256 when it has a secret), and retries with backoff."),
    list,
    h("details", { class: "subcard" }, h("summary", {}, "Add a webhook"),
      apiForm({
        label: "New webhook",
        submitLabel: "Add webhook",
        onSubmit: async (form) => {
          const hook = await api(`${base}/webhooks`, { method: "POST", body: { name: name.value.trim(), url: url.value.trim(), ...(secret.value ? { secret: secret.value } : {}) } });
          form.reset();
          await reload();
          return `Webhook "${hook.name}" added.`;
        },
      }, field("Name", name), field("URL", url), field("Secret", secret, "optional: signs each delivery"))));
}
