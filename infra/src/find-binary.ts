import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Where daemons live on Debian; a non-root PATH often lacks them. */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch (err) {
    if (["ENOENT", "EACCES", "ENOTDIR"].includes((err as NodeJS.ErrnoException).code ?? "")) return false;
    throw err;
  }
}

/** The path of an executable on PATH (or in an sbin directory), undefined when none. */
export function findBinary(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const dirs = [...(env["PATH"] ?? "").split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

/**
 * A PostgreSQL server program (postgres, initdb, pg_isready): Debian keeps them in
 * /usr/lib/postgresql/<version>/bin, off PATH; elsewhere they are on PATH.
 */
export function findPostgresBinary(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const root = "/usr/lib/postgresql";
  let versions: string[] = [];
  try {
    versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  for (const version of versions) {
    const path = join(root, version, "bin", name);
    if (isExecutable(path)) return path;
  }
  return findBinary(name, env);
}
