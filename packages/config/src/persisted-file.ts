import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * A file Slipway creates on first start (a secret, a key) and reads afterwards. Several processes
 * may start at once: `create`'s content is written whole under a private name, then linked into
 * place. The first link wins, and every process returns what is in place, never its own loser.
 */
export function readOrCreateFile(path: string, create: () => string, mode = 0o600): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temporary, create(), { mode });
  // The mode given at creation is masked by the umask.
  chmodSync(temporary, mode);
  try {
    linkSync(temporary, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(temporary);
  }
  return readFileSync(path, "utf8");
}
