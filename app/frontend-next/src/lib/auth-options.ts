import type { BetterAuthOptions } from "better-auth";
import { type JwtOptions, jwt } from "better-auth/plugins";

import { database } from "./db";
import { type Env, env } from "./env";

// The backend's token lives 5 minutes: each page or action fetches a fresh one.
const BACKEND_TOKEN_SECONDS = 300;

// The plugins, which add tables (jwt: jwks). Without settings, their options are left out:
// the tables do not depend on them, and the migration is given DATABASE_URL only.
/** The JWT plugin's options: the backend's token. */
export function jwtOptions(settings: Env) {
  return {
    jwt: {
      issuer: settings.jwtIssuer,
      audience: settings.jwtAudience,
      expirationTime: `${BACKEND_TOKEN_SECONDS}s`,
      // The user id only: by default the token would carry the whole user (email, name).
      definePayload: ({ user }: { user: { id: string } }) => ({ sub: user.id }),
    },
    // Tokens come from getToken only (src/lib/backend.ts): by default every session lookup
    // would sign one more for a `set-auth-jwt` header that nothing reads.
    disableSettingJwtHeader: true,
  } satisfies JwtOptions;
}

function plugins(settings: Env | null) {
  // Signs the backend's token with a key pair (EdDSA, Ed25519) kept in the jwks table; the
  // backend checks it against /api/auth/jwks (AUTH_JWKS_URL).
  return [jwt(settings ? jwtOptions(settings) : undefined)];
}

/** What defines Better Auth's tables (scripts/migrate.ts): the database and the plugins. */
export function schemaOptions() {
  return { database: database(), plugins: plugins(null) } satisfies BetterAuthOptions;
}

/** Better Auth's options for the server. */
export function authOptions() {
  const settings = env();
  return {
    database: database(),
    secret: settings.authSecret,
    baseURL: settings.publicUrl,
    trustedOrigins: [settings.publicUrl],
    // No session at sign-up, as on the Python frontend: Better Auth then answers a taken email
    // exactly as a new one, so sign-up does not tell which emails have an account.
    emailAndPassword: { enabled: true, minPasswordLength: 8, autoSignIn: false },
    // Better Auth sends no telemetry unless asked; say so where a reader looks.
    telemetry: { enabled: false },
    plugins: plugins(settings),
  } satisfies BetterAuthOptions;
}
