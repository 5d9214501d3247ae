import { api } from "../../lib/api.js";
import { announce, confirmButton, field, h, message } from "../../lib/dom.js";
import { apiForm, formatAssignments, parseAssignments } from "../../lib/forms.js";

/** The inputs of one rule; `read()` gives the API's fields. */
function ruleFields(rule) {
  const sourceType = h("select", { name: "sourceType" }, ["branch", "tag"].map((t) => h("option", { value: t, selected: rule?.sourceType === t }, t)));
  const sourceName = h("input", { name: "sourceName", required: true, value: rule?.sourceName ?? "", placeholder: "main or /^v([0-9.]+)$/", autocomplete: "off", spellcheck: "false" });
  const dockerTag = h("input", { name: "dockerTag", required: true, value: rule?.dockerTag ?? "", placeholder: "latest, {sourceref} or {\\1},latest", autocomplete: "off", spellcheck: "false" });
  const dockerfile = h("input", { name: "dockerfile", value: rule?.dockerfile ?? "Dockerfile", autocomplete: "off", spellcheck: "false" });
  const context = h("input", { name: "context", value: rule?.context ?? "/", autocomplete: "off", spellcheck: "false" });
  const autobuild = h("input", { type: "checkbox", name: "autobuild", checked: rule?.autobuild ?? true });
  const cache = h("input", { type: "checkbox", name: "cache", checked: rule?.cache ?? true });
  const buildArgs = h("textarea", { name: "buildArgs", rows: "2", spellcheck: "false", placeholder: "KEY=value, one a line" }, formatAssignments(rule?.buildArgs));
  return {
    autobuild,
    fields: [
      field("Source type", sourceType),
      field("Source name", sourceName, "a branch or tag name, or /regex/"),
      field("Docker tag", dockerTag),
      field("Dockerfile", dockerfile),
      field("Build context", context),
      field("Build args", buildArgs),
      h("label", { class: "check" }, autobuild, " Autobuild on push"),
      h("label", { class: "check" }, cache, " Build cache"),
    ],
    read: () => ({
      sourceType: sourceType.value,
      sourceName: sourceName.value.trim(),
      dockerTag: dockerTag.value.trim(),
      dockerfile: dockerfile.value.trim(),
      context: context.value.trim(),
      autobuild: autobuild.checked,
      cache: cache.checked,
      buildArgs: parseAssignments(buildArgs.value),
    }),
  };
}

function ruleCard(base, rule, index, reload) {
  const inputs = ruleFields(rule);
  const feedback = h("div", { class: "form-feedback" });
  // The toggle takes effect at once, as on Docker Hub; the other fields wait for Save.
  inputs.autobuild.addEventListener("change", async () => {
    try {
      await api(`${base}/rules/${rule.id}`, { method: "PATCH", body: { autobuild: inputs.autobuild.checked } });
      announce(`Autobuild ${inputs.autobuild.checked ? "on" : "off"}`);
      feedback.replaceChildren(message("success", `Autobuild is ${inputs.autobuild.checked ? "on" : "off"}.`));
    } catch (err) {
      inputs.autobuild.checked = !inputs.autobuild.checked;
      feedback.replaceChildren(message("error", err.message));
    }
  });
  const form = apiForm({
    className: "grid-form rule-form",
    label: `Rule ${index + 1}`,
    submitLabel: "Save rule",
    onSubmit: async () => {
      await api(`${base}/rules/${rule.id}`, { method: "PATCH", body: inputs.read() });
      return "Saved.";
    },
  }, ...inputs.fields);
  return h("li", { class: "subcard rule", "data-rule": rule.id },
    h("div", { class: "title-row" },
      h("h3", {}, `Rule ${index + 1}: ${rule.sourceType} `, h("code", {}, rule.sourceName), " → ", h("code", {}, rule.dockerTag)),
      confirmButton("Delete", "Delete this rule?", async () => {
        await api(`${base}/rules/${rule.id}`, { method: "DELETE" });
        await reload();
        announce("Rule deleted");
      })),
    form,
    feedback);
}

function dryRun(base) {
  const sourceType = h("select", { name: "sourceType" }, h("option", { value: "branch" }, "branch"), h("option", { value: "tag" }, "tag"));
  const sourceName = h("input", { name: "sourceName", required: true, autocomplete: "off", placeholder: "v1.2.3" });
  return h("details", { class: "subcard" },
    h("summary", {}, "Try the rules (dry run)"),
    h("p", { class: "muted" }, "Which rules a push of this branch or tag matches, and the tags each would push. Nothing is built."),
    apiForm({
      label: "Dry run",
      submitLabel: "Match",
      onSubmit: async () => {
        const result = await api(`${base}/rules/match`, { method: "POST", body: { sourceType: sourceType.value, sourceName: sourceName.value.trim() } });
        if (result.matches.length === 0) return message("info", `No rule matches ${result.sourceType} "${result.sourceName}".`);
        return message("success",
          h("ul", {}, result.matches.map((m) => h("li", {},
            m.invalidTag ? `a rule gives the invalid tag "${m.invalidTag}"` : ["tags ", m.tags.map((t, i) => [i ? ", " : "", h("code", {}, t)])],
            ` from ${m.dockerfile} in ${m.context}`, m.autobuild ? "" : " (autobuild off: by hand or trigger only)"))),
          h("p", {}, `A push would queue ${result.builds.length} build${result.builds.length === 1 ? "" : "s"}.`));
      },
    }, field("Type", sourceType), field("Branch or tag", sourceName)));
}

export function rulesSection({ base }) {
  const list = h("ol", { class: "plain-list" });
  const status = h("div");
  async function reload() {
    const { rules } = await api(`${base}/rules`);
    status.replaceChildren(rules.length ? "" : message("info", "No rules: nothing builds. Add one below (linking a source adds main → latest)."));
    list.replaceChildren(...rules.map((rule, i) => ruleCard(base, rule, i, reload)));
  }
  const add = ruleFields(null);
  const addForm = apiForm({
    label: "New rule",
    submitLabel: "Add rule",
    onSubmit: async (form) => {
      await api(`${base}/rules`, { method: "POST", body: add.read() });
      form.reset();
      await reload();
      return "Rule added.";
    },
  }, ...add.fields);
  reload().catch((err) => status.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, "Which branches and tags build, and the tags they push: ", h("code", {}, "{sourceref}"), " is the branch or tag, ", h("code", {}, "{\\1}"), " a regex group."),
    status,
    list,
    h("details", { class: "subcard" }, h("summary", {}, "Add a rule"), addForm),
    dryRun(base));
}
