"use client";

import { useActionState } from "react";

import { addTask } from "./actions";

export function TaskForm() {
  const [state, formAction, pending] = useActionState(addTask, { error: null });
  return (
    <form action={formAction}>
      <input type="text" name="title" placeholder="New task" required maxLength={200} aria-label="New task" />{" "}
      <button type="submit" disabled={pending}>Add</button>
      {state.error && <p className="error" role="alert">{state.error}</p>}
    </form>
  );
}
