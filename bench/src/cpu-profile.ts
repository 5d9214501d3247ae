/**
 * Preloaded into a process under test (`NODE_OPTIONS=--import=<this file>`, since Node refuses
 * `--cpu-prof` in NODE_OPTIONS): profiles its CPU from start to exit and writes the profile,
 * readable by Chrome DevTools or `--cpu-prof`'s tools, to the path in BENCH_CPU_PROFILE.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const path = process.env["BENCH_CPU_PROFILE"];
if (path) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 100 µs between samples: fine enough for requests that take a millisecond or two.
  session.post("Profiler.setSamplingInterval", { interval: 100 });
  session.post("Profiler.start");
  // An in-process session answers synchronously, so the profile can be taken even in "exit".
  process.once("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) console.error(`cpu-profile: ${err.message}`);
      else writeFileSync(path, JSON.stringify(result.profile));
    });
  });
}
