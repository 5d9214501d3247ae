import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * This worker process's folder for checkouts, `worker-<pid>` inside the work folder. Folders
 * that workers which are no longer running left behind (killed mid-build) are removed; a
 * running worker's are not, so several workers may share the work folder.
 */
export async function prepareWorkDir(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const name of await readdir(root)) {
    const pid = /^worker-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) {
      await rm(join(root, name), { recursive: true, force: true });
    }
  }
  const own = join(root, `worker-${process.pid}`);
  await rm(own, { recursive: true, force: true });
  await mkdir(own, { recursive: true });
  return own;
}
