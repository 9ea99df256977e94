// Shutdown as docs/contract.md asks: on SIGTERM /readyz turns 503 at once, requests keep
// being served for SHUTDOWN_DRAIN_SECONDS (the Service stops routing here meanwhile), then
// the process exits 0. The image sets NEXT_MANUAL_SIG_HANDLE so that Next.js leaves
// SIGTERM to this handler instead of exiting at once.

let draining = false;

export function shuttingDown(): boolean {
  return draining;
}

export function drainOnSigterm(drainSeconds: number, log: (event: string) => void): void {
  const stop = () => {
    if (draining) return;
    draining = true;
    log("shutting down");
    setTimeout(() => process.exit(0), drainSeconds * 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
