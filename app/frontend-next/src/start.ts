// Server start: check the environment (a bad variable exits 2 with one line naming it, never
// its value) and take over SIGTERM (src/lib/lifecycle.ts).
import { ConfigError, env } from "./lib/env";
import { drainOnSigterm } from "./lib/lifecycle";
import { log } from "./lib/log";

const CONFIG_ERROR_EXIT_CODE = 2;
const DEFAULT_DRAIN_SECONDS = 2;

try {
  env();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`config error: ${error.message}\n`);
  process.exit(CONFIG_ERROR_EXIT_CODE);
}
const drain = Number(process.env.SHUTDOWN_DRAIN_SECONDS ?? DEFAULT_DRAIN_SECONDS);
drainOnSigterm(Number.isFinite(drain) && drain >= 0 ? drain : DEFAULT_DRAIN_SECONDS, (event) =>
  log("info", event),
);
log("info", "frontend started", { instance: process.env.INSTANCE_NAME ?? "" });
