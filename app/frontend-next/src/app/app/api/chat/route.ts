import { relay } from "@/lib/api";
import { env } from "@/lib/env";

export const dynamic = "force-dynamic";

/** One message to the assistant; a turn waits for the AI provider, perhaps several times. */
export function POST(request: Request): Promise<Response> {
  return relay(request, "/api/chat", { timeoutMs: env().chatTimeoutMs });
}
