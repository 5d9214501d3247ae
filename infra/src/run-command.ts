import { spawn } from "node:child_process";

export interface RunCommandOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command with the terminal's output (stdio inherited); resolves with its exit code. */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<number> {
  return new Promise((resolveCode, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolveCode(code ?? (signal === null ? 1 : 128 + 2)));
  });
}
