/**
 * `npm run bench`: its own stack (Redis, a Docker engine, a registry, PostgreSQL) on its own ports and
 * data folder (.slipway-bench/), the test base image, then every compiled benchmark
 * (`bench/dist/*.bench.js`), one after another, each in its own node process.
 * `npm run bench -- spine` runs only the benchmarks those filters name; options
 * (`--iterations=3`) go to each benchmark.
 */
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { matchesFilter, toSourcePath } from "./find-test-files.js";
import { runCommand } from "./run-command.js";
import { withTestStack } from "./test-stack.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dataDir = join(repoRoot, ".slipway-bench");
const benchDist = "bench/dist";

function say(line: string): void {
  console.log(`bench-run: ${line}`);
}

/** The compiled benchmarks, repository-relative and sorted; one whose source is gone (stale in dist) is left out. */
function findBenchFiles(filters: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(join(repoRoot, benchDist));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const sources = new Set(readdirSync(join(repoRoot, "bench/src")));
  return names
    .filter((name) => name.endsWith(".bench.js"))
    .map((name) => `${benchDist}/${name}`)
    .filter((file) => sources.has(toSourcePath(file).split("/").at(-1) ?? ""))
    .filter((file) => filters.length === 0 || filters.some((f) => matchesFilter(file, f)))
    .sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const filters = args.filter((a) => !a.startsWith("-"));
  const benchOptions = args.filter((a) => a.startsWith("-"));
  const files = findBenchFiles(filters);
  if (files.length === 0) {
    say(filters.length === 0 ? `no compiled benchmarks found (${benchDist}/*.bench.js)` : `no benchmark matches ${filters.join(" ")}`);
    return 1;
  }

  return withTestStack(
    { dataDir, parts: ["redis", "docker", "registry", "postgres"], ports: { redis: 17379, registry: 17000, postgres: 17432 }, log: say },
    async (env, interrupted) => {
      const failed: string[] = [];
      for (const file of files) {
        if (interrupted()) break;
        say(`running ${file}`);
        const code = await runCommand(process.execPath, ["--enable-source-maps", file, ...benchOptions], { cwd: repoRoot, env });
        if (code !== 0 && !interrupted()) failed.push(file);
      }
      if (failed.length > 0) say(`${failed.length} benchmark(s) failed: ${failed.join(", ")}`);
      return failed.length > 0 ? 1 : 0;
    },
  );
}

process.exitCode = await main();
