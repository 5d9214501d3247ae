import { posix } from "node:path";

/**
 * Joins `relative` onto `rootAbs` lexically and returns the absolute result, or undefined
 * when it would leave the root. A leading "/" in `relative` means the root itself (Docker
 * Hub's "/" build context). Symlinks are not looked at: the caller that touches the disk
 * checks them.
 */
export function resolveInside(rootAbs: string, relative: string): string | undefined {
  if (!posix.isAbsolute(rootAbs) || rootAbs.includes("\0") || relative.includes("\0")) {
    return undefined;
  }
  const root = trimTrailingSlash(posix.normalize(rootAbs));
  const inner = relative.replace(/^\/+/, "");
  const joined = trimTrailingSlash(posix.normalize(posix.join(root, inner)));
  if (joined === root) return joined;
  const prefix = root === "/" ? "/" : `${root}/`;
  return joined.startsWith(prefix) ? joined : undefined;
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.replace(/\/+$/, "") : path;
}
