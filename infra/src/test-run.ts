/**
 * `npm test`: its own stack (Redis, a Docker engine, a registry, PostgreSQL) on its own
 * ports and data folder, the test base image, lint and type-check, then every compiled test.
 * `npm test -- packages/core git-server` runs only the tests those filters name (and skips
 * lint and type-check, for a quick loop); options (`--test-name-pattern=…`) go to node --test.
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findTestFiles } from "./find-test-files.js";
import { runCommand } from "./run-command.js";
import { withTestStack } from "./test-stack.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dataDir = join(repoRoot, ".slipway-test");

function say(line: string): void {
  console.log(`test-run: ${line}`);
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommand(command, args, { cwd: repoRoot, env });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const filters = args.filter((a) => !a.startsWith("-"));
  const nodeTestOptions = args.filter((a) => a.startsWith("-"));

  let failures = 0;
  if (filters.length === 0) {
    say("type-check: tsc -b");
    if ((await run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-b"])) !== 0) failures++;
    say("lint: eslint . (layering rules included)");
    if ((await run(process.execPath, [join(repoRoot, "node_modules/eslint/bin/eslint.js"), "."])) !== 0) failures++;
    say("lint: no circular imports (madge over the compiled packages and services)");
    const compiled = ["packages", "services"].flatMap((dir) =>
      readdirSync(join(repoRoot, dir)).map((name) => join(repoRoot, dir, name, "dist")).filter((d) => existsSync(d)),
    );
    const madge = [join(repoRoot, "node_modules/madge/bin/cli.js"), "--circular", "--no-spinner", "--extensions", "js", ...compiled];
    if ((await run(process.execPath, madge)) !== 0) failures++;
  } else {
    say(`filtered run (${filters.join(" ")}): lint and type-check skipped`);
  }

  const files = findTestFiles(repoRoot, filters);
  if (files.length === 0) {
    say(filters.length === 0 ? "no compiled tests found (*/dist/**/*.test.js)" : `no test file matches ${filters.join(" ")}`);
    return 1;
  }

  const runnerExit = await withTestStack(
    { dataDir, parts: ["redis", "docker", "registry", "postgres"], ports: { redis: 16379, registry: 15000, postgres: 15432 }, log: say },
    (env) => {
      say(`running ${files.length} test file(s)`);
      return run(process.execPath, ["--test", "--test-concurrency=1", ...nodeTestOptions, ...files], env);
    },
  );
  if (runnerExit !== 0) return runnerExit;
  if (failures > 0) {
    say("tests passed, but lint or type-check failed (above)");
    return 1;
  }
  return 0;
}

process.exitCode = await main();
