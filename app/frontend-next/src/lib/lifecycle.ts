import { ServerResponse } from "node:http";

// Shutdown as docs/contract.md asks: on SIGTERM /readyz turns 503 at once, requests keep
// being served for SHUTDOWN_DRAIN_SECONDS (the Service stops routing here meanwhile), then
// the process exits 0. The image sets NEXT_MANUAL_SIG_HANDLE so that Next.js leaves
// SIGTERM to this handler instead of exiting at once.
//
// The flag lives on globalThis: the server start (src/start.ts) and the /readyz route are
// bundled apart, and each bundle has its own copy of this module.
const DRAINING = Symbol.for("todo-chatbot.draining");
const state = globalThis as { [DRAINING]?: boolean };

export function shuttingDown(): boolean {
  return state[DRAINING] === true;
}

// A client's keep-alive connection stays on this pod after the Service stopped routing new
// ones here, and breaks when the process exits. While draining, each answer closes its
// connection (`Connection: close`), so the client's next request opens one to another pod.
function closeConnectionsWhileDraining(): void {
  const writeHead = ServerResponse.prototype.writeHead;
  ServerResponse.prototype.writeHead = function (
    this: ServerResponse,
    ...args: Parameters<typeof writeHead>
  ) {
    if (shuttingDown()) this.shouldKeepAlive = false;
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

export function drainOnSigterm(drainSeconds: number, log: (event: string) => void): void {
  closeConnectionsWhileDraining();
  const stop = () => {
    if (shuttingDown()) return;
    state[DRAINING] = true;
    log("shutting down");
    setTimeout(() => process.exit(0), drainSeconds * 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
