import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", ".slipway/**", ".slipway-test/**", "docs/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // End-to-end tests and benchmarks read the API's JSON answers as a client would: untyped.
    files: ["test/src/**/*.ts", "bench/src/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["services/api/public/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(
        ["document", "window", "location", "history", "navigator", "fetch", "Node", "AbortController", "EventSource", "URLSearchParams", "console"].map((name) => [name, "readonly"]),
      ),
    },
  },
  {
    // core is the pure domain: no I/O libraries, no other workspace packages.
    files: ["packages/core/src/**/*.ts"],
    ignores: ["packages/core/src/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@slipway/*", "node:fs*", "node:net", "node:http*", "node:child_process", "express", "bullmq", "ioredis", "dockerode", "simple-git", "pg", "better-sqlite3", "kysely"] }],
      "no-restricted-globals": ["error", "process"],
    },
  },
  {
    // Services never import each other; the API does no git and no docker.
    files: ["services/api/src/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: ["@slipway/worker", "dockerode", "simple-git"] }] },
  },
  {
    files: ["services/worker/src/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: ["@slipway/api", "express"] }] },
  },
);
