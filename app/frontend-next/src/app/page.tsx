import { headers } from "next/headers";
import { redirect } from "next/navigation";

import { getAuth } from "@/lib/auth";
import { BackendError, listTasks, type Task } from "@/lib/backend";

import { removeTask, signOut, toggleTask } from "./actions";
import { ChatPanel } from "./chat-panel";
import { TaskForm } from "./task-form";

export const dynamic = "force-dynamic";

export default async function TasksPage() {
  const session = await getAuth().api.getSession({ headers: await headers() });
  if (!session) redirect("/sign-in");
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
      <ul className="tasks">
        {tasks.map((task) => (
          <li key={task.id} className={task.completed ? "done" : undefined}>
            <form action={toggleTask.bind(null, task.id, !task.completed)}>
              <button type="submit" aria-label={task.completed ? "Mark as not done" : "Mark as done"}>
                {task.completed ? "☑" : "☐"}
              </button>
            </form>
            <span className="title">{task.title}</span>
            <form action={removeTask.bind(null, task.id)}>
              <button type="submit" aria-label={`Delete ${task.title}`}>Delete</button>
            </form>
          </li>
        ))}
      </ul>
      <ChatPanel />
    </main>
  );
}
