export { startStack, reapLeftovers, runtimeDirOf } from "./stack.js";
export type { Stack, StackOptions, StackPart } from "./stack.js";
export { ensureBaseImage, toDockerOptions } from "./base-image.js";
export type { BaseImageOptions } from "./base-image.js";
export { toTarArchive } from "./tar-archive.js";
export type { TarEntry } from "./tar-archive.js";
