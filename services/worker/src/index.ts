export { createBuildProcessor } from "./build-processor.js";
export type { ProcessorDeps } from "./build-processor.js";
export { createBuildSweeper } from "./build-sweeper.js";
export { createBuildLog } from "./build-log.js";
export { createDockerClient } from "./docker-client.js";
