import { api, repoPath } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { generalSection } from "./settings/general.js";
import { rulesSection } from "./settings/rules.js";
import { sourceSection } from "./settings/source.js";
import { triggersSection } from "./settings/triggers.js";
import { variablesSection } from "./settings/variables.js";
import { webhooksSection } from "./settings/webhooks.js";
import { repositoryHeader } from "./repository.js";

/** A repository's set-up: source, build rules, trigger URLs, webhooks, variables, and itself. */
export async function settingsPage(main, ctx) {
  const [namespace, name] = ctx.params;
  const base = repoPath(`${namespace}/${name}`);
  const repo = await api(base, { signal: ctx.signal });
  ctx.setTitle(`Settings · ${repo.fullName}`);
  const sections = [
    ["source", "Source", sourceSection],
    ["rules", "Build rules", rulesSection],
    ["triggers", "Trigger URLs", triggersSection],
    ["webhooks", "Webhooks", webhooksSection],
    ["variables", "Build variables", variablesSection],
    ["general", "Repository", generalSection],
  ];
  main.replaceChildren(
    repositoryHeader(repo, "Settings"),
    h("nav", { class: "section-nav", "aria-label": "Settings sections" },
      sections.map(([id, title]) => h("a", { href: `#/r/${repo.fullName}/settings`, onclick: (e) => { e.preventDefault(); document.getElementById(`section-${id}`)?.scrollIntoView(); document.getElementById(`section-${id}-title`)?.focus(); } }, title))),
    ...sections.map(([id, title, render]) =>
      h("section", { id: `section-${id}`, class: "card settings-section", "aria-labelledby": `section-${id}-title` },
        h("h2", { id: `section-${id}-title`, tabindex: "-1" }, title),
        render({ repo, base, ctx }))),
  );
}
