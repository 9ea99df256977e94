import { relay } from "@/lib/api";

export const dynamic = "force-dynamic";

/** The user's tasks. */
export function GET(request: Request): Promise<Response> {
  return relay(request, "/api/tasks");
}

/** Add a task. */
export function POST(request: Request): Promise<Response> {
  return relay(request, "/api/tasks");
}
