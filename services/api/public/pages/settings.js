import { api, ApiError, repoPath } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { generalSection } from "./settings/general.js";
import { rulesSection } from "./settings/rules.js";
import { sourceSection } from "./settings/source.js";
import { teamsSection } from "./settings/teams.js";
import { triggersSection } from "./settings/triggers.js";
import { variablesSection } from "./settings/variables.js";
import { webhooksSection } from "./settings/webhooks.js";
import { repositoryHeader } from "./repository.js";

/** The organisation the namespace is, if it is one the caller is part of; null for a user's namespace. */
async function organisationOf(namespace, signal) {
  try {
    return await api(`/orgs/${encodeURIComponent(namespace)}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** A repository's set-up: source, build rules, trigger URLs, webhooks, variables, team access, and itself. */
export async function settingsPage(main, ctx) {
  const [namespace, name] = ctx.params;
  const base = repoPath(`${namespace}/${name}`);
  const [repo, org] = await Promise.all([api(base, { signal: ctx.signal }), organisationOf(namespace, ctx.signal)]);
  ctx.setTitle(`Settings · ${repo.fullName}`);
  const sections = [
    ["source", "Source", sourceSection],
    ["rules", "Build rules", rulesSection],
    ["triggers", "Trigger URLs", triggersSection],
    ["webhooks", "Webhooks", webhooksSection],
    ["variables", "Build variables", variablesSection],
    // Teams are an organisation's: a user's own repositories have none.
    ...(org ? [["teams", "Team access", teamsSection]] : []),
    ["general", "Repository", generalSection],
  ];
  main.replaceChildren(
    repositoryHeader(repo, "Settings"),
    h("nav", { class: "section-nav", "aria-label": "Settings sections" },
      sections.map(([id, title]) => h("a", { href: `#/r/${repo.fullName}/settings`, onclick: (e) => { e.preventDefault(); document.getElementById(`section-${id}`)?.scrollIntoView(); document.getElementById(`section-${id}-title`)?.focus(); } }, title))),
    ...sections.map(([id, title, render]) =>
      h("section", { id: `section-${id}`, class: "card settings-section", "aria-labelledby": `section-${id}-title` },
        h("h2", { id: `section-${id}-title`, tabindex: "-1" }, title),
        render({ repo, base, ctx, org }))),
  );
}
