// The launcher (`npm test`) builds this image before any test runs, so it lives in infra;
// tests reach it here, where their other helpers are.
export { ensureBaseImage } from "@slipway/infra";
export type { BaseImageOptions } from "@slipway/infra";
