/** A build variable's key: what a Dockerfile's `ARG` and a shell both accept, at most 128 characters. */
const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** What a refused key is told (validation_failed). */
export const VARIABLE_KEY_HINT = `a variable's key is a letter or "_" followed by letters, digits or "_", at most 128 characters`;

/** Values are build args and environment, not files: 64 KiB is plenty and keeps rows and logs small. */
export const MAX_VARIABLE_VALUE = 64 * 1024;

export function isValidVariableKey(key: string): boolean {
  return KEY.test(key);
}
