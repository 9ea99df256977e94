import { relay, taskId } from "@/lib/api";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ id: string }> };

async function relayTask(request: Request, { params }: Context): Promise<Response> {
  const id = taskId((await params).id);
  if (id === null) return Response.json({ detail: "no such task" }, { status: 404 });
  return relay(request, `/api/tasks/${id}`);
}

/** Change a task's title or completion. */
export const PATCH = relayTask;

/** Delete a task. */
export const DELETE = relayTask;
