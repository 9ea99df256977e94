// Creates and updates Better Auth's tables (user, session, account, verification, jwks):
// the chart's migrations Job runs it before each install and upgrade, never the server.
// Bundled by `npm run build` into the image as /app/migrate.mjs: `node migrate.mjs`.
import { getMigrations } from "better-auth/db/migration";

import { schemaOptions } from "../src/lib/auth-options";
import { database } from "../src/lib/db";
import { ConfigError } from "../src/lib/env";

const MIGRATION_FAILED_EXIT_CODE = 3;

async function main(): Promise<number> {
  let options: ReturnType<typeof schemaOptions>;
  try {
    options = schemaOptions();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`config error: ${error.message}\n`);
    return 2;
  }
  try {
    const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
    await runMigrations();
    const tables = toBeCreated.map((change) => change.table);
    const columns = toBeAdded.map((change) => change.table);
    log(`better auth schema is current (created: [${tables}], columns added to: [${columns}])`);
    return 0;
  } catch (error) {
    // The driver's message names the failing statement; it never holds the URL's password.
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`migration failed: better auth schema: ${reason}\n`);
    return MIGRATION_FAILED_EXIT_CODE;
  } finally {
    await database().end();
  }
}

function log(message: string): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "info", message })}\n`);
}

process.exitCode = await main();
