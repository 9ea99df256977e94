// The variables of docs/contract.md ("Frontend, Next.js"), read at run time. A missing or
// malformed one stops the server at start (src/instrumentation.ts) with one line that names
// it and never shows its value.

export class ConfigError extends Error {}

const MIN_SECRET_LENGTH = 32;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === "") {
    throw new ConfigError(`${name} is missing`);
  }
  return value;
}

function httpUrl(name: string): string {
  const value = required(name);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is malformed: must be an http:// or https:// URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${name} is malformed: must be an http:// or https:// URL`);
  }
  return value.replace(/\/+$/, "");
}

function seconds(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new ConfigError(`${name} is malformed: must be a positive number of seconds`);
  }
  return parsed;
}

export interface Env {
  databaseUrl: string;
  authSecret: string;
  backendUrl: string;
  publicUrl: string;
  /** `iss` and `aud` of the backend's JWT; the backend's AUTH_JWT_ISSUER/AUDIENCE. */
  jwtIssuer: string;
  jwtAudience: string;
  backendTimeoutMs: number;
  chatTimeoutMs: number;
}

let cached: Env | undefined;

/** DATABASE_URL alone: all that the migration (scripts/migrate.ts) is given. */
export function databaseUrl(): string {
  return required("DATABASE_URL");
}

/** The checked environment; throws ConfigError naming the first bad variable. */
export function env(): Env {
  if (cached) return cached;
  const authSecret = required("BETTER_AUTH_SECRET");
  if (authSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `BETTER_AUTH_SECRET is malformed: must be at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  const publicUrl = httpUrl("PUBLIC_URL");
  cached = {
    databaseUrl: databaseUrl(),
    authSecret,
    backendUrl: httpUrl("BACKEND_URL"),
    publicUrl,
    jwtIssuer: process.env.JWT_ISSUER || publicUrl,
    jwtAudience: process.env.JWT_AUDIENCE || publicUrl,
    backendTimeoutMs: seconds("BACKEND_TIMEOUT_SECONDS", 5) * 1000,
    chatTimeoutMs: seconds("CHAT_TIMEOUT_SECONDS", 60) * 1000,
  };
  return cached;
}
