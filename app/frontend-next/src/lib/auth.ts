import { betterAuth } from "better-auth";
import { nextCookies } from "better-auth/next-js";

import { authOptions } from "./auth-options";

function createAuth() {
  const options = authOptions();
  // nextCookies lets server actions (sign-in, sign-up, sign-out) set the session cookie.
  return betterAuth({ ...options, plugins: [...options.plugins, nextCookies()] });
}

export type Auth = ReturnType<typeof createAuth>;

let auth: Auth | undefined;

/** Better Auth, built on first use: `next build` imports this module without a database. */
export function getAuth(): Auth {
  auth ??= createAuth();
  return auth;
}
