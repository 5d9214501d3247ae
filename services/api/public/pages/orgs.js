import { api } from "../lib/api.js";
import { announce, cell, confirmButton, field, h, message, table, timeAgo } from "../lib/dom.js";
import { apiForm } from "../lib/forms.js";
import { NAME_HINT, NAME_PATTERN } from "./users.js";

export const ROLES = [
  ["read", "read: pull, see builds"],
  ["write", "write: also push, start builds"],
  ["admin", "admin: also settings"],
];
const enc = encodeURIComponent;
const orgPath = (org) => `/orgs/${enc(org)}`;
/** Pages of 100 read to list an organisation's repositories. */
const MAX_PAGES = 10;

/** Runs a change; what the API refuses (403 to a non-owner, 409 for the last owner) is shown in `feedback`. */
export async function act(feedback, what, change) {
  feedback.replaceChildren();
  try {
    await change();
  } catch (err) {
    feedback.replaceChildren(message("error", `Could not ${what}: ${err.message}`));
  }
}

const nameInput = (attrs) => h("input", { required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "none", ...attrs });
const youPill = (name, user) => (name === user?.username ? [" ", h("span", { class: "pill" }, "you")] : null);

/** The organisation's repositories, to give teams access to (its owners may read them all). */
async function orgRepositories(org, signal) {
  const found = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await api(`/repositories?limit=100&q=${enc(`${org}/`)}${cursor ? `&cursor=${enc(cursor)}` : ""}`, { signal });
    found.push(...answer.repositories.filter((repo) => repo.namespace === org));
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return found;
}

/** The organisations the user is part of (an administrator: all), and a new one. */
export async function orgsPage(main, ctx) {
  ctx.setTitle("Organisations");
  const { orgs } = await api("/orgs", { signal: ctx.signal });
  const name = nameInput({ name: "name", pattern: NAME_PATTERN, maxlength: "64" });
  const list = orgs.length === 0
    ? message("info", "You are in no organisation yet. Create one below: you become its first owner.")
    : table("Organisations", ["Organisation", "Owners", "Teams", "Created"], h("tbody", {}, orgs.map((org) =>
      h("tr", {},
        cell("Organisation", h("a", { href: `#/orgs/${enc(org.name)}`, class: "strong" }, org.name), org.owners.includes(ctx.user?.username) ? [" ", h("span", { class: "pill" }, "owner")] : null),
        cell("Owners", org.owners.join(", ")),
        cell("Teams", org.teams.length ? org.teams.join(", ") : h("span", { class: "muted" }, "none")),
        cell("Created", timeAgo(org.createdAt))))));
  main.replaceChildren(
    h("div", { class: "page-head" },
      h("h1", {}, "Organisations"),
      h("p", { class: "muted" }, "An organisation owns repositories (acme/app). Its owners manage it, and give its teams read, write or admin on its repositories.")),
    list,
    h("details", { class: "card", ...(orgs.length === 0 ? { open: true } : {}) },
      h("summary", {}, "New organisation"),
      apiForm({
        label: "New organisation",
        submitLabel: "Create organisation",
        onSubmit: async () => {
          const org = await api("/orgs", { method: "POST", body: { name: name.value.trim().toLowerCase() } });
          announce(`${org.name} created`);
          ctx.navigate(`#/orgs/${enc(org.name)}`);
          return null;
        },
      }, field("Name", name, NAME_HINT))),
  );
}

/** One organisation: its owners and its teams, each with its members and repositories; managed by its owners. */
export async function orgPage(main, ctx) {
  const [name] = ctx.params;
  const base = orgPath(name);
  const [org, { teams }] = await Promise.all([api(base, { signal: ctx.signal }), api(`${base}/teams`, { signal: ctx.signal })]);
  const me = ctx.user;
  // Hidden from the others: the API would refuse them anyway (403).
  const manages = Boolean(me?.admin || org.owners.includes(me?.username));
  const repositories = manages ? await orgRepositories(org.name, ctx.signal) : [];
  ctx.setTitle(org.name);

  const ownersTitle = h("h2", { id: "owners-title", tabindex: "-1" }, "Owners");
  const owners = h("ul", { class: "plain-list people" });
  const ownersNote = h("p", { class: "hint" });
  const ownersFeedback = h("div");
  function renderOwners(view) {
    const removable = manages && view.owners.length > 1;
    ownersNote.textContent = manages && !removable ? "An organisation keeps at least one owner: add another before removing this one." : "";
    ownersNote.hidden = ownersNote.textContent === "";
    owners.replaceChildren(...view.owners.map((owner) => h("li", {},
      h("span", { class: "strong" }, owner), youPill(owner, me),
      removable ? confirmButton("Remove", `Remove ${owner} from the owners of ${org.name}?`, () => act(ownersFeedback, `remove ${owner}`, async () => {
        const after = await api(`${base}/owners/${enc(owner)}`, { method: "DELETE" });
        announce(`${owner} is no longer an owner of ${org.name}`);
        // Who stops owning it stops managing it: the list of organisations says what is left.
        if (owner === me?.username && !me.admin) return ctx.navigate("#/orgs");
        renderOwners(after);
        ownersTitle.focus();
      })) : null)));
  }
  renderOwners(org);
  const newOwner = nameInput({ name: "username" });
  const addOwner = apiForm({
    label: "Add an owner",
    submitLabel: "Add owner",
    onSubmit: async (form) => {
      const username = newOwner.value.trim().toLowerCase();
      renderOwners(await api(`${base}/owners/${enc(username)}`, { method: "PUT" }));
      form.reset();
      return `${username} is now an owner of ${org.name}.`;
    },
  }, field("Username", newOwner, "an existing user"));

  const teamsTitle = h("h2", { id: "teams-title", tabindex: "-1" }, "Teams");
  const teamList = h("ul", { class: "plain-list" });
  const noTeams = h("p", { class: "muted" }, "No teams yet.");
  const syncEmpty = () => (noTeams.hidden = teamList.children.length > 0);

  function teamCard(team) {
    const path = `${base}/teams/${enc(team.name)}`;
    const title = h("h3", { tabindex: "-1" }, "Team ", team.name);
    const members = h("ul", { class: "plain-list people" });
    const access = h("div");
    const feedback = h("div");

    function roleSelect(repo) {
      const select = h("select", { "aria-label": `Role of ${team.name} on ${repo.fullName}` }, ROLES.map(([value]) => h("option", { value, selected: value === repo.role }, value)));
      // Takes effect at once, as the autobuild toggle does; a refusal puts the role back.
      select.addEventListener("change", () => act(feedback, `change the role on ${repo.fullName}`, async () => {
        try {
          await api(`${path}/repositories/${enc(repo.name)}`, { method: "PUT", body: { role: select.value } });
        } catch (err) {
          select.value = repo.role;
          throw err;
        }
        repo.role = select.value;
        announce(`${team.name} has ${repo.role} on ${repo.fullName}`);
      }));
      return select;
    }

    function render(view) {
      members.replaceChildren(...(view.members.length === 0 ? [h("li", { class: "muted" }, "No members yet.")] : view.members.map((member) => h("li", {},
        h("span", {}, member), youPill(member, me),
        manages ? confirmButton("Remove", `Remove ${member} from ${team.name}?`, () => act(feedback, `remove ${member}`, async () => {
          render(await api(`${path}/members/${enc(member)}`, { method: "DELETE" }));
          announce(`${member} removed from ${team.name}`);
          title.focus();
        })) : null))));
      access.replaceChildren(view.repositories.length === 0
        ? h("p", { class: "muted" }, "No repositories yet.")
        : table(`Repositories of the team ${team.name}`, ["Repository", "Role", ...(manages ? [""] : [])], h("tbody", {}, view.repositories.map((repo) =>
          h("tr", {},
            cell("Repository", h("a", { href: `#/r/${repo.fullName}` }, repo.fullName)),
            cell("Role", manages ? roleSelect(repo) : h("span", { class: "badge" }, repo.role)),
            manages ? cell("Actions", confirmButton("Remove", `Take ${team.name}'s access to ${repo.fullName} away?`, () => act(feedback, `remove ${repo.fullName}`, async () => {
              render(await api(`${path}/repositories/${enc(repo.name)}`, { method: "DELETE" }));
              announce(`${team.name} no longer has access to ${repo.fullName}`);
              title.focus();
            }))) : null)))));
    }
    render(team);

    const member = nameInput({ name: "username" });
    const addMember = apiForm({
      label: `Add a member to ${team.name}`,
      submitLabel: "Add member",
      onSubmit: async (form) => {
        const username = member.value.trim().toLowerCase();
        render(await api(`${path}/members/${enc(username)}`, { method: "PUT" }));
        form.reset();
        return `${username} added to ${team.name}.`;
      },
    }, field("Username", member, "an existing user"));

    const repository = h("select", { name: "repository", required: true },
      h("option", { value: "" }, "Choose one"),
      repositories.map((repo) => h("option", { value: repo.name }, repo.fullName)));
    const role = h("select", { name: "role" }, ROLES.map(([value, label]) => h("option", { value }, label)));
    const giveAccess = repositories.length === 0
      ? h("p", { class: "hint" }, `${org.name} has no repositories yet: create one in ${org.name}/ first.`)
      : apiForm({
        label: `Give ${team.name} access to a repository`,
        submitLabel: "Give access",
        onSubmit: async (form) => {
          const chosen = { name: repository.value, role: role.value };
          render(await api(`${path}/repositories/${enc(chosen.name)}`, { method: "PUT", body: { role: chosen.role } }));
          form.reset();
          return `${team.name} has ${chosen.role} on ${org.name}/${chosen.name}.`;
        },
      }, field("Repository", repository), field("Role", role));

    const card = h("li", { class: "subcard team", "data-team": team.name },
      h("div", { class: "title-row" },
        title,
        manages ? confirmButton("Delete team", `Delete the team ${team.name}? Its members lose what it gave them.`, () => act(feedback, `delete ${team.name}`, async () => {
          await api(path, { method: "DELETE" });
          card.remove();
          syncEmpty();
          announce(`Team ${team.name} deleted`);
          teamsTitle.focus();
        })) : null),
      feedback,
      h("div", { class: "columns" },
        h("div", {}, h("h4", {}, "Members"), members, manages ? addMember : null),
        h("div", {}, h("h4", {}, "Repository access"), access, manages ? giveAccess : null)));
    return card;
  }

  teamList.append(...teams.map(teamCard));
  syncEmpty();
  const teamName = nameInput({ name: "name", pattern: NAME_PATTERN, maxlength: "64" });
  const newTeam = h("details", { class: "subcard" },
    h("summary", {}, "Create a team"),
    apiForm({
      label: "New team",
      submitLabel: "Create team",
      onSubmit: async (form) => {
        const team = await api(`${base}/teams`, { method: "POST", body: { name: teamName.value.trim().toLowerCase() } });
        teamList.append(teamCard(team));
        syncEmpty();
        form.reset();
        return `Team ${team.name} created.`;
      },
    }, field("Name", teamName, "2–64 lowercase letters, digits, - or _")));

  main.replaceChildren(
    h("div", { class: "page-head" },
      h("nav", { "aria-label": "Breadcrumb", class: "breadcrumb" }, h("a", { href: "#/orgs" }, "Organisations"), h("span", { "aria-hidden": "true" }, " / "), org.name),
      h("h1", {}, org.name),
      h("p", {}, h("a", { href: `#/?q=${enc(`${org.name}/`)}` }, `${org.name}'s repositories`), h("span", { class: "muted" }, " · created ", timeAgo(org.createdAt))),
      manages ? null : message("info", `Only the owners of ${org.name} manage it: you see its owners, its teams and what they may do.`)),
    h("section", { class: "card settings-section", "aria-labelledby": "owners-title" },
      ownersTitle,
      h("p", { class: "muted" }, "Owners manage the organisation and its teams, and are admin on its repositories."),
      ownersFeedback,
      owners,
      ownersNote,
      manages ? addOwner : null),
    h("section", { class: "card settings-section", "aria-labelledby": "teams-title" },
      teamsTitle,
      h("p", { class: "muted" }, "A team gives its members a role on some of the organisation's repositories: read (pull, see builds), write (also push, start builds) or admin (also settings)."),
      noTeams,
      teamList,
      manages ? newTeam : null),
  );
}
