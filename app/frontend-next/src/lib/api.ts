import { headers } from "next/headers";

import { getAuth } from "./auth";
import { BackendError, forward } from "./backend";
import { env } from "./env";

// The Python frontend's JSON API (/app/api/tasks, /app/api/chat) on this server, so that the
// same clients (the e2e suite's load, the benchmark's virtual users) drive both frontends.
// Each call is the signed-in user's, relayed to the backend with their token; the backend's
// answer (2xx and 4xx, its 502/504 about the assistant) is passed on as it is.

// Ids are opaque here; the pattern keeps them from reshaping the backend path.
const TASK_ID = /^[A-Za-z0-9_-]{1,64}$/;

function problem(status: number, detail: string): Response {
  return Response.json({ detail }, { status, headers: { "cache-control": "no-store" } });
}

/** The checked task id of a `/app/api/tasks/[id]` path, or null. */
export function taskId(id: string): string | null {
  return TASK_ID.test(id) ? id : null;
}

/** Relay `request` to the backend's `path` as the signed-in user. */
export async function relay(
  request: Request,
  path: string,
  options: { timeoutMs?: number } = {},
): Promise<Response> {
  const session = await getAuth().api.getSession({ headers: await headers() });
  if (!session) return problem(401, "sign in first");
  // Session cookies are SameSite=Lax; a change must also come from this app's own pages.
  if (request.method !== "GET" && request.headers.get("origin") !== new URL(env().publicUrl).origin) {
    return problem(403, "cross-origin request refused");
  }
  let body: string | undefined;
  if (request.method === "POST" || request.method === "PATCH") {
    body = await request.text();
    try {
      JSON.parse(body);
    } catch {
      return problem(400, "the body is not JSON");
    }
  }
  let answer: Response;
  try {
    answer = await forward(path, { method: request.method, body, timeoutMs: options.timeoutMs });
  } catch (error) {
    if (error instanceof BackendError) return problem(error.status, error.message);
    throw error;
  }
  const relayed = new Headers({ "cache-control": "no-store" });
  for (const name of ["content-type", "retry-after"]) {
    const value = answer.headers.get(name);
    if (value) relayed.set(name, value);
  }
  return new Response(answer.status === 204 ? null : await answer.arrayBuffer(), {
    status: answer.status,
    headers: relayed,
  });
}
