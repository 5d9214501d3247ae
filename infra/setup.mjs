// Runs before `npm start` and `npm test` (`--test`), before node_modules may exist: plain
// Node, no dependencies. Installs the system programs that are missing (as root on
// Debian; elsewhere it says what to install), then the npm packages, then compiles.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const forTest = process.argv.includes("--test");
const env = process.env;

function say(line) {
  console.log(`setup: ${line}`);
}

function fail(line) {
  console.error(`setup: ${line}`);
  process.exit(1);
}

const [major] = process.versions.node.split(".").map(Number);
if (major < 20) fail(`Node.js ${process.versions.node} is too old: Slipway needs Node.js 20 or newer`);

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** On PATH, or in an sbin folder (a non-root PATH often lacks them; dockerd lives there). */
function findBinary(name) {
  const dirs = [...(env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  return dirs.map((d) => join(d, name)).find(isExecutable);
}

/** Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off PATH. */
function findPostgres() {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
  for (const v of versions) {
    if (isExecutable(join(root, v, "bin", "postgres")) && isExecutable(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  return findBinary("postgres") && findBinary("initdb") ? dirname(findBinary("postgres")) : undefined;
}

const isDebian = existsSync("/etc/debian_version") && Boolean(findBinary("apt-get"));
const isRoot = process.getuid?.() === 0;

/** Debian's busybox package is dynamically linked: the test base image (FROM scratch) needs busybox-static. */
function hasStaticBusybox() {
  if (isDebian) {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", "busybox-static"], { encoding: "utf8" });
    return r.status === 0 && r.stdout.includes("install ok installed");
  }
  return existsSync("/bin/busybox");
}

function dockerReachable() {
  if (env.DOCKER_HOST) return true;
  const home = env.HOME ?? homedir();
  return ["/var/run/docker.sock", `${env.XDG_RUNTIME_DIR ?? "/nonexistent"}/docker.sock`, `${home}/.docker/run/docker.sock`].some((p) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  });
}

// What each part needs, the Debian package that brings it, and how else it may be reached.
const parts = [
  { what: "redis-server", pkg: "redis-server", present: () => findBinary("redis-server"), otherwise: () => env.REDIS_URL && "REDIS_URL" },
  { what: "dockerd", pkg: "docker.io", present: () => findBinary("dockerd"), otherwise: () => dockerReachable() && "a running Docker engine" },
  { what: "docker-registry", pkg: "docker-registry", present: () => findBinary("docker-registry") ?? findBinary("registry"), otherwise: () => env.SLIPWAY_REGISTRY && "SLIPWAY_REGISTRY" },
  { what: "git", pkg: "git", present: () => findBinary("git"), otherwise: () => false },
  ...(forTest
    ? [
        { what: "busybox (static)", pkg: "busybox-static", present: hasStaticBusybox, otherwise: () => false },
        { what: "postgres", pkg: "postgresql", present: findPostgres, otherwise: () => env.SLIPWAY_TEST_POSTGRES_URL && "SLIPWAY_TEST_POSTGRES_URL" },
        // The dashboard's browser tests drive the system's Chromium (playwright-core downloads no browser).
        { what: "chromium", pkg: "chromium", present: () => findBinary("chromium") ?? findBinary("chromium-browser"), otherwise: () => env.SLIPWAY_TEST_CHROMIUM && "SLIPWAY_TEST_CHROMIUM" },
      ]
    : []),
];

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: "inherit", cwd: repoRoot, ...options });
  if (r.error) fail(`${command}: ${r.error.message}`);
  return r.status ?? 1;
}

let missing = parts.filter((p) => !p.present());
if (missing.length > 0 && isRoot && isDebian) {
  const pkgs = missing.map((p) => p.pkg);
  say(`installing ${pkgs.join(" ")}`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  if (run("apt-get", ["update", "-q"], { env: aptEnv }) !== 0) fail("apt-get update failed");
  if (run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...pkgs], { env: aptEnv }) !== 0) {
    fail(`apt-get install ${pkgs.join(" ")} failed`);
  }
  missing = parts.filter((p) => !p.present());
}
if (missing.length > 0) {
  const how = isDebian ? `sudo apt-get install ${missing.map((p) => p.pkg).join(" ")}` : `install ${missing.map((p) => p.what).join(", ")}`;
  const blocking = [];
  for (const p of missing) {
    const other = p.otherwise();
    if (other) say(`${p.what} is not installed; using ${other}`);
    else blocking.push(p.what);
  }
  if (blocking.length > 0) fail(`missing ${blocking.join(", ")}: ${how}`);
  say(`to have everything here: ${how}`);
}

// npm packages: when absent, or when the lock file changed since the last install.
const lock = join(repoRoot, "package-lock.json");
const installed = join(repoRoot, "node_modules", ".package-lock.json");
if (!existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs)) {
  say("npm install");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  if (run(npm, ["install", "--no-audit", "--no-fund"]) !== 0) fail("npm install failed");
}

// Compile every workspace (incremental: quick when nothing changed).
say("compiling (tsc -b)");
const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
if (run(process.execPath, [tsc, "-b"]) !== 0) {
  // npm test still runs the tests (its type-check step fails the full run);
  // npm start does not run code that does not compile.
  if (forTest) say("type errors (above): the tests still run; a full npm test fails on them");
  else fail("type errors (above); fix them and run npm start again");
}
