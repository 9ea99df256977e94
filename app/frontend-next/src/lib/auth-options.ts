import type { BetterAuthOptions } from "better-auth";
import { jwt } from "better-auth/plugins";

import { database } from "./db";
import { env } from "./env";

// The backend's token lives 5 minutes: each page or action fetches a fresh one.
const BACKEND_TOKEN_SECONDS = 300;

/** Better Auth's options, which also define its tables (scripts/migrate.ts). */
export function authOptions() {
  const settings = env();
  return {
    database: database(),
    secret: settings.authSecret,
    baseURL: settings.publicUrl,
    trustedOrigins: [settings.publicUrl],
    emailAndPassword: { enabled: true, minPasswordLength: 8 },
    // Better Auth sends no telemetry unless asked; say so where a reader looks.
    telemetry: { enabled: false },
    plugins: [
      // Signs the backend's token with a key pair (EdDSA, Ed25519) kept in the jwks table;
      // the backend checks it against /api/auth/jwks (AUTH_JWKS_URL).
      jwt({
        jwt: {
          issuer: settings.jwtIssuer,
          audience: settings.jwtAudience,
          expirationTime: `${BACKEND_TOKEN_SECONDS}s`,
          definePayload: ({ user }) => ({ sub: user.id }),
        },
      }),
    ],
  } satisfies BetterAuthOptions;
}
