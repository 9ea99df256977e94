import { database } from "@/lib/db";
import { shuttingDown } from "@/lib/lifecycle";

// Readiness: the database answers, and the process is not draining after SIGTERM.
export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  const headers = { "cache-control": "no-store" };
  if (shuttingDown()) {
    return Response.json({ status: "shutting down" }, { status: 503, headers });
  }
  try {
    await database().query("SELECT 1");
  } catch {
    return Response.json({ status: "database unavailable" }, { status: 503, headers });
  }
  return Response.json({ status: "ok" }, { headers });
}
