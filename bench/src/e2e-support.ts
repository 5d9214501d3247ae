/**
 * The end-to-end helpers the benchmarks share with test/: a real Slipway (API and worker as
 * child processes) and signed GitHub deliveries. @slipway/test exports only its index, which
 * leaves these out, hence the one path into its compiled output; once the index exports them,
 * this file becomes `export … from "@slipway/test"`.
 */
export { requireEnv, startSlipway, type Slipway } from "../../test/dist/support/slipway.js";
export { githubPushPayload, sendGithubDelivery } from "../../test/dist/support/github.js";
