import { getAuth } from "@/lib/auth";

// Better Auth's endpoints: sign-up, sign-in, sign-out, session, token, jwks.
export const dynamic = "force-dynamic";

export function GET(request: Request): Promise<Response> {
  return getAuth().handler(request);
}

export function POST(request: Request): Promise<Response> {
  return getAuth().handler(request);
}
