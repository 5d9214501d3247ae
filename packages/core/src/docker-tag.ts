/** Docker's tag grammar (distribution/reference): at most 128 characters. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** One path component of a repository name (distribution/reference). */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Docker limits a full repository name to 255 characters. */
const MAX_REPOSITORY_NAME = 255;

export function isValidDockerTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * Whether `name` is a valid repository path: one or more components ("acme",
 * "hello", "group/sub/app") separated by `/`, lower case, as Docker requires.
 */
export function isValidRepositoryPath(name: string): boolean {
  if (name.length === 0 || name.length > MAX_REPOSITORY_NAME) return false;
  return name.split("/").every((component) => PATH_COMPONENT.test(component));
}
