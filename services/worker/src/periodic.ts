/** A chore run over and over, `intervalMs` after the end of each run, never two at once. */
export interface Periodic {
  stop(): void;
}

/**
 * Runs `task` every `intervalMs` (counted from the end of the last run, so a slow run never
 * overlaps the next), first after `firstDelayMs`. A failed run is handed to `onError` and the
 * next one comes all the same. The timer keeps no process alive; after `stop()` no run starts.
 */
export function runPeriodically(task: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void, firstDelayMs = 0): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(tick, delayMs);
    timer.unref();
  };
  const tick = () => {
    task()
      .catch(onError)
      .finally(() => schedule(intervalMs));
  };
  schedule(firstDelayMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
