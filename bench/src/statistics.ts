/** What the benchmarks share: how a figure is taken from samples, and how a benchmark script ends. */

/** Nearest-rank percentile: a value that was measured, never an interpolation. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  if (value === undefined) throw new Error("percentile of no values");
  return value;
}

/** Runs a benchmark's main (which may answer its exit code); a failure is printed with its stack and ends the process with 1. */
export async function runBenchmark(name: string, main: () => Promise<void | number>): Promise<void> {
  try {
    const code = await main();
    if (typeof code === "number") process.exitCode = code;
  } catch (err) {
    console.error(`${name} bench: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
}
