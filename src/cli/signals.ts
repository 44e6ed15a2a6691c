/**
 * Runs until SIGTERM or SIGINT: the first signal stops gracefully (running ops may finish), a second
 * one stops at once (handlers are aborted and their leases given back).
 */
export function onShutdown(stop: (opts: { gracefulMs?: number }) => Promise<void>, log: (m: string) => void = console.error): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`${signal} again: aborting running ops and giving their leases back`);
        void stop({ gracefulMs: 0 });
        return;
      }
      stopping = true;
      log(`${signal}: finishing running ops (send it again to stop at once)`);
      stop({}).then(resolve, (err) => {
        log(`shutdown failed: ${(err as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
