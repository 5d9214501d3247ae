import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitServer, type GitServer } from "../git-server.js";
import { startSlipway, type Slipway, type SlipwayOptions } from "./slipway.js";

export interface Environment {
  git: GitServer;
  slipway: Slipway;
  /** Stops Slipway and the git server, and removes the git server's repositories. */
  stop(): Promise<void>;
}

/** What an end-to-end test file runs against: a git server over HTTP and a real Slipway. */
export async function startEnvironment(options: { users?: Record<string, string>; slipway?: SlipwayOptions } = {}): Promise<Environment> {
  const tmp = process.env["SLIPWAY_TEST_TMP"] ?? tmpdir();
  mkdirSync(tmp, { recursive: true });
  const gitRoot = mkdtempSync(join(tmp, "git-"));
  const git = await startGitServer({ root: gitRoot, ...(options.users ? { users: options.users } : {}) });
  const slipway = await startSlipway(options.slipway);
  return {
    git,
    slipway,
    async stop() {
      await slipway.stop();
      await git.close();
      rmSync(gitRoot, { recursive: true, force: true });
    },
  };
}
