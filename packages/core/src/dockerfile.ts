/**
 * The build args a Dockerfile declares (`ARG NAME` or `ARG NAME=default`, several per line
 * allowed). Docker Hub passes its build variables only where they are declared, so a build
 * never warns about args it did not ask for.
 */
export function declaredBuildArgs(dockerfile: string): Set<string> {
  const names = new Set<string>();
  // Line continuations join a logical instruction across lines.
  const text = dockerfile.replace(/\\\r?\n/g, " ");
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*ARG\s+(.+)$/i.exec(line);
    if (!match?.[1]) continue;
    for (const part of match[1].trim().split(/\s+/)) {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)(?:=|$)/.exec(part)?.[1];
      if (name) names.add(name);
    }
  }
  return names;
}
