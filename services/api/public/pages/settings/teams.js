import { api } from "../../lib/api.js";
import { announce, cell, confirmButton, field, h, message, table } from "../../lib/dom.js";
import { apiForm } from "../../lib/forms.js";
import { act, ROLES } from "../orgs.js";

const enc = encodeURIComponent;

/**
 * The organisation's teams that have access to the repository, and their roles: what its admins
 * manage here as its owners do on the organisation's page (the API lets both).
 */
export function teamsSection({ repo, org }) {
  // Others see who has access; the controls are for those the API lets change it.
  const manages = repo.role === "admin";
  const teamsPath = `/orgs/${enc(org.name)}/teams`;
  const accessPath = (team) => `${teamsPath}/${enc(team)}/repositories/${enc(repo.name)}`;
  const list = h("div");
  const feedback = h("div");
  const give = h("div");

  function roleSelect(team, role) {
    const select = h("select", { "aria-label": `Role of ${team} on ${repo.fullName}` }, ROLES.map(([value]) => h("option", { value, selected: value === role }, value)));
    // Takes effect at once, as on the organisation's page; a refusal puts the role back.
    select.addEventListener("change", () => act(feedback, `change ${team}'s role`, async () => {
      try {
        await api(accessPath(team), { method: "PUT", body: { role: select.value } });
      } catch (err) {
        select.value = role;
        throw err;
      }
      role = select.value;
      announce(`${team} has ${role} on ${repo.fullName}`);
    }));
    return select;
  }

  async function reload() {
    const { teams } = await api(teamsPath);
    const withAccess = teams.flatMap((team) => team.repositories.filter((r) => r.fullName === repo.fullName).map((r) => ({ team: team.name, role: r.role })));
    const without = teams.filter((team) => !withAccess.some((a) => a.team === team.name));
    list.replaceChildren(withAccess.length === 0
      ? h("p", { class: "muted" }, `No team of ${org.name} has access to ${repo.fullName}: only its owners${repo.private ? "" : " (and, as it is public, everyone reads it)"}.`)
      : table(`Teams with access to ${repo.fullName}`, ["Team", "Role", ...(manages ? [""] : [])], h("tbody", {}, withAccess.map(({ team, role }) =>
        h("tr", {},
          cell("Team", h("a", { href: `#/orgs/${enc(org.name)}` }, team)),
          cell("Role", manages ? roleSelect(team, role) : h("span", { class: "badge" }, role)),
          manages ? cell("Actions", confirmButton("Remove", `Take ${team}'s access to ${repo.fullName} away?`, () => act(feedback, `remove ${team}`, async () => {
            await api(accessPath(team), { method: "DELETE" });
            await reload();
            announce(`${team} no longer has access to ${repo.fullName}`);
          }))) : null)))));
    if (!manages) {
      give.replaceChildren(h("p", { class: "hint" }, `Only the admins of ${repo.fullName} and the owners of ${org.name} change this.`));
      return;
    }
    give.replaceChildren(teams.length === 0
      ? h("p", { class: "hint" }, `${org.name} has no teams yet: its owners make them on `, h("a", { href: `#/orgs/${enc(org.name)}` }, "the organisation's page"), ".")
      : without.length === 0 ? h("p", { class: "hint" }, `Every team of ${org.name} has access.`) : giveForm(without));
  }

  function giveForm(teams) {
    const team = h("select", { name: "team", required: true }, h("option", { value: "" }, "Choose one"), teams.map((t) => h("option", { value: t.name }, t.name)));
    const role = h("select", { name: "role" }, ROLES.map(([value, label]) => h("option", { value }, label)));
    return apiForm({
      label: "Give a team access",
      submitLabel: "Give access",
      onSubmit: async () => {
        const chosen = { team: team.value, role: role.value };
        await api(accessPath(chosen.team), { method: "PUT", body: { role: chosen.role } });
        await reload();
        // Said above the list: the form itself is made anew (or gone, once every team has access).
        feedback.replaceChildren(message("success", `${chosen.team} has ${chosen.role} on ${repo.fullName}.`));
        return null;
      },
    }, field("Team", team), field("Role", role));
  }

  reload().catch((err) => list.replaceChildren(message("error", err.message)));
  return h("div", {},
    h("p", { class: "muted" }, `${repo.fullName} belongs to the organisation ${org.name}: its teams get read, write or admin on it. Its owners are admin on every repository of ${org.name}.`),
    feedback,
    list,
    give);
}
