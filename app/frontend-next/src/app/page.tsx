import { headers } from "next/headers";
import { redirect } from "next/navigation";

import { getAuth } from "@/lib/auth";
import { BackendError, listTasks, type Task } from "@/lib/backend";

import { signOut } from "./actions";
import { ChatPanel } from "./chat-panel";
import { TaskForm } from "./task-form";
import { TaskItem } from "./task-item";

export const dynamic = "force-dynamic";

export default async function TasksPage() {
  const session = await getAuth().api.getSession({ headers: await headers() });
  if (!session) redirect("/signin");
  let tasks: Task[] = [];
  let error: string | null = null;
  try {
    tasks = await listTasks();
  } catch (caught) {
    error = caught instanceof BackendError ? caught.message : "try again";
  }
  return (
    <main>
      <header>
        <h1>Tasks</h1>
        <form action={signOut}>
          <span>{session.user.email}</span> <button type="submit">Sign out</button>
        </form>
      </header>
      <TaskForm />
      {error && <p className="error" role="alert">{error}</p>}
      {/* Drawn on the server, so never busy: aria-busy as on the Python frontend's page. */}
      <ul id="tasks" className="tasks" aria-busy={false}>
        {tasks.map((task) => (
          <TaskItem key={task.id} task={task} />
        ))}
      </ul>
      {!error && tasks.length === 0 && <p className="hint">No tasks yet.</p>}
      <ChatPanel />
    </main>
  );
}
