export { startStack, reapLeftovers, runtimeDirOf } from "./stack.js";
export type { Stack, StackOptions, StackPart } from "./stack.js";
export { registryConfigYaml } from "./registry-config.js";
export { findBinary } from "./find-binary.js";
export type { RegistryAuthOptions, RegistryConfigOptions } from "./registry-config.js";
export { ensureBaseImage, toDockerOptions } from "./base-image.js";
export type { BaseImageOptions } from "./base-image.js";
export { toTarArchive } from "./tar-archive.js";
export type { TarEntry } from "./tar-archive.js";
