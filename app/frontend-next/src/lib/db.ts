import { Pool } from "pg";

import { databaseUrl } from "./env";

// DATABASE_URL means what it means to libpq and to the Python images: `sslmode=require`
// encrypts without checking the server's certificate, `verify-full` checks it. pg reads
// `require` as `verify-full` unless told to follow libpq.
function libpqCompatible(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("uselibpqcompat")) {
    parsed.searchParams.set("uselibpqcompat", "true");
  }
  return parsed.toString();
}

let pool: Pool | undefined;

/** The process's connection pool, shared by Better Auth and the readiness check. */
export function database(): Pool {
  pool ??= new Pool({
    connectionString: libpqCompatible(databaseUrl()),
    max: 5,
    connectionTimeoutMillis: 5000,
  });
  return pool;
}
