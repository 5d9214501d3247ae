import assert from "node:assert/strict";
import { effectiveRole, isSlipwayError, type ErrorCode } from "@slipway/core";
import { describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import type { Store } from "./types.js";

function isCode(code: ErrorCode) {
  return (err: unknown) => isSlipwayError(err) && err.code === code;
}

/** alice owns org acme; bob is in acme's team "devs" (write on acme/app); carol is nobody. */
async function world(store: Store) {
  const alice = await store.accounts.createUser({ username: "alice", passwordHash: "h" });
  const bob = await store.accounts.createUser({ username: "bob", passwordHash: null });
  const carol = await store.accounts.createUser({ username: "carol", passwordHash: null, email: "carol@example.com" });
  const root = await store.accounts.createUser({ username: "root", passwordHash: null, admin: true });
  const acme = await store.accounts.createOrg("acme", alice.id);
  const devs = await store.accounts.createTeam(acme.id, "devs");
  await store.accounts.addTeamMember(devs.id, bob.id);
  const app = await store.createRepository({ namespace: "acme", name: "app", private: true, description: "the app" });
  const site = await store.createRepository({ namespace: "acme", name: "site", private: false, description: "" });
  const secret = await store.createRepository({ namespace: "acme", name: "secret", private: true, description: "" });
  const own = await store.createRepository({ namespace: "carol", name: "notes", private: true, description: "" });
  await store.accounts.setTeamRepository(devs.id, app.id, "write");
  return { alice, bob, carol, root, acme, devs, app, site, secret, own };
}

const cases: StoreCase[] = [
  {
    name: "a name is a user or an organisation, never both",
    async run(store) {
      const alice = await store.accounts.createUser({ username: "alice", passwordHash: "h" });
      await assert.rejects(store.accounts.createUser({ username: "alice", passwordHash: null }), isCode("conflict"));
      await assert.rejects(store.accounts.createOrg("alice", alice.id), isCode("conflict"));
      await store.accounts.createOrg("acme", alice.id);
      await assert.rejects(store.accounts.createUser({ username: "acme", passwordHash: null }), isCode("conflict"));
      assert.equal((await store.accounts.findNamespace("ACME"))?.kind, "org");
      assert.equal((await store.accounts.findNamespace("alice"))?.kind, "user");
      assert.equal(await store.accounts.findNamespace("nobody"), undefined);
      assert.equal(await store.accounts.countUsers(), 1);
    },
  },
  {
    name: "grants: owners and administrators are admin, teams give their role, others nothing",
    async run(store) {
      const w = await world(store);
      const roleOf = async (user: typeof w.alice, repo: typeof w.app) => effectiveRole(await store.accounts.grantOn(user, repo), repo.private);
      assert.equal(await roleOf(w.alice, w.app), "admin");
      assert.equal(await roleOf(w.root, w.own), "admin");
      assert.equal(await roleOf(w.bob, w.app), "write");
      assert.equal(await roleOf(w.bob, w.secret), null);
      assert.equal(await roleOf(w.bob, w.site), "read");
      assert.equal(await roleOf(w.carol, w.own), "admin");
      assert.equal(await roleOf(w.carol, w.app), null);
      assert.equal(await store.accounts.ownsNamespace(w.alice.id, "acme"), true);
      assert.equal(await store.accounts.ownsNamespace(w.bob.id, "acme"), false);
      assert.equal(await store.accounts.ownsNamespace(w.bob.id, "bob"), true);
    },
  },
  {
    name: "listing shows each caller what they may see, and searches names and descriptions",
    async run(store) {
      const w = await world(store);
      const names = async (visibleTo: { id: string; username: string } | null | undefined, search?: string) =>
        (await store.listRepositories({ limit: 50, ...(visibleTo === undefined ? {} : { visibleTo }), ...(search === undefined ? {} : { search }) })).items.map((r) => `${r.namespace}/${r.name}`);
      assert.deepEqual(await names(null), ["acme/site"]);
      assert.deepEqual(await names(w.bob), ["acme/app", "acme/site"]);
      assert.deepEqual(await names(w.alice), ["acme/app", "acme/secret", "acme/site"]);
      assert.deepEqual(await names(w.carol), ["acme/site", "carol/notes"]);
      assert.deepEqual(await names(undefined), ["acme/app", "acme/secret", "acme/site", "carol/notes"]);
      assert.deepEqual(await names(w.bob, "THE APP"), ["acme/app"]);
      assert.deepEqual(await names(w.bob, "acme/s"), ["acme/site"]);
      assert.deepEqual(await names(null, "%"), []);
    },
  },
  {
    name: "a namespace holding repositories from before accounts is adopted by an administrator only",
    async run(store) {
      const alice = await store.accounts.createUser({ username: "alice", passwordHash: "h" });
      await store.createRepository({ namespace: "legacy", name: "app", private: true, description: "" });
      await assert.rejects(store.accounts.createOrg("legacy", alice.id), isCode("conflict"));
      await assert.rejects(store.accounts.createUser({ username: "legacy", passwordHash: null }), isCode("conflict"));
      const org = await store.accounts.createOrg("legacy", alice.id, { adopt: true });
      assert.equal(org.name, "legacy");
    },
  },
  {
    name: "tokens are found by hash until they expire or are deleted",
    async run(store) {
      const alice = await store.accounts.createUser({ username: "alice", passwordHash: "h" });
      const token = await store.accounts.createToken(alice.id, { name: "ci", scope: "read", tokenHash: "abc", expiresAt: "2030-01-01T00:00:00.000Z" });
      const used = await store.accounts.useToken("abc", new Date("2029-01-01T00:00:00Z"));
      assert.equal(used?.user.username, "alice");
      assert.equal(used?.token.scope, "read");
      assert.equal(used?.token.lastUsedAt, "2029-01-01T00:00:00.000Z");
      assert.equal(await store.accounts.useToken("abc", new Date("2031-01-01T00:00:00Z")), undefined);
      assert.equal(await store.accounts.useToken("nope"), undefined);
      assert.deepEqual((await store.accounts.listTokens(alice.id)).map((t) => t.id), [token.id]);
      const bob = await store.accounts.createUser({ username: "bob", passwordHash: null });
      assert.equal(await store.accounts.deleteToken(bob.id, token.id), false);
      assert.equal(await store.accounts.deleteToken(alice.id, token.id), true);
      assert.deepEqual(await store.accounts.listTokens(alice.id), []);
    },
  },
  {
    name: "organisations keep an owner; teams hold members and repositories",
    async run(store) {
      const w = await world(store);
      await assert.rejects(store.accounts.removeOrgOwner(w.acme.id, w.alice.id), isCode("conflict"));
      await store.accounts.addOrgOwner(w.acme.id, w.bob.id);
      assert.deepEqual(await store.accounts.listOrgOwners(w.acme.id), ["alice", "bob"]);
      assert.equal(await store.accounts.removeOrgOwner(w.acme.id, w.alice.id), true);
      assert.equal(await store.accounts.removeOrgOwner(w.acme.id, w.carol.id), false);
      await assert.rejects(store.accounts.createTeam(w.acme.id, "devs"), isCode("conflict"));
      assert.deepEqual(await store.accounts.listTeamMembers(w.devs.id), ["bob"]);
      assert.deepEqual((await store.accounts.listTeamRepositories(w.devs.id)).map((r) => [r.name, r.role]), [["app", "write"]]);
      await store.accounts.setTeamRepository(w.devs.id, w.app.id, "admin");
      assert.deepEqual((await store.accounts.listTeamRepositories(w.devs.id)).map((r) => r.role), ["admin"]);
      assert.deepEqual((await store.accounts.listOrgsOf(w.bob.id)).map((o) => o.name), ["acme"]);
      assert.deepEqual(await store.accounts.listOrgsOf(w.carol.id), []);
      assert.equal(await store.accounts.deleteTeam(w.devs.id), true);
      assert.equal(await store.accounts.findTeam(w.acme.id, "devs"), undefined);
    },
  },
  {
    name: "stars are counted per repository, once per user",
    async run(store) {
      const w = await world(store);
      assert.equal(await store.accounts.star(w.bob.id, w.site.id), true);
      assert.equal(await store.accounts.star(w.bob.id, w.site.id), true);
      assert.equal(await store.accounts.star(w.carol.id, w.site.id), true);
      assert.equal(await store.accounts.star(w.carol.id, "no-such-id"), false);
      const counts = await store.accounts.starCounts([w.site.id, w.app.id]);
      assert.equal(counts.get(w.site.id), 2);
      assert.equal(counts.get(w.app.id), 0);
      assert.deepEqual([...(await store.accounts.starredBy(w.bob.id, [w.site.id, w.app.id]))], [w.site.id]);
      await store.accounts.unstar(w.bob.id, w.site.id);
      assert.equal((await store.accounts.starCounts([w.site.id])).get(w.site.id), 1);
    },
  },
];

describeOnEveryDialect("AccountStore", cases);
