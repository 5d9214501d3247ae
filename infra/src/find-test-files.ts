import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";

function walk(dir: string, found: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") walk(path, found);
    else if (entry.isFile() && entry.name.endsWith(".test.js")) found.push(path);
  }
}

/** `infra/dist/a/b.test.js` → `infra/src/a/b.test.ts`: the source a compiled test came from. */
export function toSourcePath(compiled: string): string {
  return compiled.replace(/(^|\/)dist\//, "$1src/").replace(/\.js$/, ".ts");
}

/**
 * Whether a test file (repository-relative, `/`-separated) is one a filter names: a folder
 * or file (`packages/core`, `test/`, `test/src/git-server.test.ts`), or, for a word without
 * `/`, a folder on its path (`core`) or a part of its file name (`git-server`).
 */
export function matchesFilter(file: string, filter: string): boolean {
  const path = filter.replace(/\\/g, "/").replace(/^\.\//, "");
  const f = path.replace(/\/+$/, "");
  if (f === "" || f === ".") return true;
  for (const candidate of [file, toSourcePath(file)]) {
    if (candidate === f || candidate.startsWith(`${f}/`)) return true;
  }
  if (path.includes("/")) return false;
  const segments = file.split("/");
  return segments.slice(0, -1).includes(f) || (segments.at(-1) ?? "").includes(f);
}

/**
 * The compiled tests (`<workspace>/dist/**\/*.test.js`) of every workspace, repository-relative,
 * sorted; one whose source is gone (a stale file in dist) is left out. No filter: all.
 */
export function findTestFiles(repoRoot: string, filters: readonly string[] = []): string[] {
  const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { workspaces?: string[] };
  const found: string[] = [];
  for (const workspace of manifest.workspaces ?? []) walk(join(repoRoot, workspace, "dist"), found);
  return found
    .map((path) => relative(repoRoot, path).split(sep).join("/"))
    .filter((file) => existsSync(join(repoRoot, toSourcePath(file))))
    .filter((file) => filters.length === 0 || filters.some((f) => matchesFilter(file, isAbsolute(f) ? relative(repoRoot, f) : f)))
    .sort();
}
