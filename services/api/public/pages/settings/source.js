import { api, ApiError } from "../../lib/api.js";
import { copyLine, field, h, message, timeAgo } from "../../lib/dom.js";
import { apiForm, secretReveal } from "../../lib/forms.js";

const PROVIDERS = [
  ["github", "GitHub"],
  ["gitlab", "GitLab"],
  ["gitea", "Gitea, Forgejo, Gogs"],
  ["bitbucket", "Bitbucket Cloud"],
  ["bitbucket-server", "Bitbucket Server / Data Center"],
];

function details(source, repo, user) {
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h("div", {},
    h("dl", { class: "facts" },
      row("Forge", PROVIDERS.find(([id]) => id === source.provider)?.[1] ?? source.provider),
      row("Forge repository", h("code", {}, source.repository)),
      row("Clone URL", h("code", { class: "break" }, source.cloneUrl)),
      row("Signed deliveries", source.hasSecret ? "yes: deliveries must carry the secret's signature" : "no: the source was linked without a secret"),
      row("Clone credentials", source.hasCredentials ? "kept, encrypted" : "none"),
      row("Linked", timeAgo(source.createdAt))),
    h("p", { class: "field-label" }, "Webhook URL: give it to your forge"),
    copyLine(source.webhookUrl, "Copy the webhook URL"),
    // The deliveries log is the administrators'.
    user?.admin ? h("p", {}, h("a", { href: `#/deliveries?source=${encodeURIComponent(source.id)}&repo=${encodeURIComponent(repo.fullName)}` }, "Recent deliveries to this URL")) : null);
}

function linkForm(repo, base, source, onLinked) {
  const provider = h("select", { name: "provider" }, PROVIDERS.map(([id, label]) => h("option", { value: id, selected: source?.provider === id }, label)));
  const forgeName = h("input", { name: "repository", required: true, value: source?.repository ?? repo.fullName, autocomplete: "off" });
  const cloneUrl = h("input", { name: "cloneUrl", type: "url", required: true, value: source?.cloneUrl ?? "", placeholder: "https://github.com/acme/hello.git", autocomplete: "off" });
  const secret = h("input", { name: "secret", type: "password", autocomplete: "new-password" });
  const username = h("input", { name: "username", autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
  return h("details", { class: "subcard", ...(source ? {} : { open: true }) },
    h("summary", {}, source ? "Re-link the source (a new secret, other credentials)" : "Link a source"),
    source ? h("p", { class: "muted" }, "Re-linking keeps the webhook URL. It replaces the secret (a new one is made when left blank) and the credentials (give them again).") : null,
    apiForm({
      label: "Link the source",
      submitLabel: source ? "Re-link" : "Link source",
      onSubmit: async () => {
        const body = { provider: provider.value, repository: forgeName.value.trim(), cloneUrl: cloneUrl.value.trim() };
        if (secret.value) body.secret = secret.value;
        if (password.value) body.credentials = { ...(username.value.trim() ? { username: username.value.trim() } : {}), password: password.value };
        const linked = await api(`${base}/source`, { method: "PUT", body });
        secret.value = "";
        password.value = "";
        await onLinked(linked);
        return null;
      },
    },
    field("Forge", provider),
    field("Forge repository", forgeName, "as its payloads name it: owner/name, or the full GitLab path"),
    field("Clone URL", cloneUrl, "http(s), without credentials in it"),
    field("Webhook secret", secret, "left blank, Slipway makes one"),
    field("Clone username", username, "for a private repository"),
    field("Clone password or token", password)));
}

export function sourceSection({ repo, base, ctx }) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const revealed = h("div");

  async function load() {
    let source = null;
    try {
      source = await api(`${base}/source`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    body.replaceChildren(
      source ? details(source, repo, ctx.user) : message("info", "No source linked yet: link the forge repository this one builds from."),
      revealed,
      linkForm(repo, base, source, async (linked) => {
        // The secret is in this answer only: the forge needs it now.
        revealed.replaceChildren(linked.secret
          ? message("success", h("p", {}, "Linked. Give your forge this webhook URL and secret now: the secret is not shown again."), copyLine(linked.webhookUrl, "Copy the webhook URL"), secretReveal("Webhook secret", linked.secret))
          : message("success", "Linked, without a secret: deliveries are not signed."));
        await load();
      }));
  }
  load().catch((err) => body.replaceChildren(message("error", err.message)));
  return h("div", {}, h("p", { class: "muted" }, "Where builds clone from, and the URL your forge sends its pushes to."), body);
}
