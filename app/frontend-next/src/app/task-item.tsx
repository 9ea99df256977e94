"use client";

import { useOptimistic, useTransition } from "react";

import type { Task } from "@/lib/backend";

import { removeTask, toggleTask } from "./actions";

/** One task: a checkbox named by its title (done or not) and its Delete button. */
export function TaskItem({ task }: { task: Task }) {
  const [pending, startTransition] = useTransition();
  // Ticked at once; the page's next render (after the action) confirms it or puts it back.
  const [completed, setCompleted] = useOptimistic(task.completed);
  return (
    <li className={completed ? "done" : undefined}>
      <input
        type="checkbox"
        aria-label={task.title}
        checked={completed}
        disabled={pending}
        onChange={() =>
          startTransition(async () => {
            setCompleted(!completed);
            await toggleTask(task.id, !completed);
          })
        }
      />
      <span className="title">{task.title}</span>
      <button
        type="button"
        aria-label={`Delete ${task.title}`}
        disabled={pending}
        onClick={() => startTransition(() => removeTask(task.id))}
      >
        Delete
      </button>
    </li>
  );
}
