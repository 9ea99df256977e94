import { headers } from "next/headers";

import { getAuth } from "./auth";
import { env } from "./env";

// Calls to the backend, made by this server only: the backend stays inside the cluster
// and the browser never sees its token.

export interface Task {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
}

export interface ChatAnswer {
  conversation_id: string;
  reply: string;
}

export class BackendError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const TRY_AGAIN = "The task service is unavailable, try again in a moment.";

async function backendToken(): Promise<string> {
  const { token } = await getAuth().api.getToken({ headers: await headers() });
  return token;
}

async function call<T>(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<T> {
  const settings = env();
  let response: Response;
  try {
    response = await fetch(`${settings.backendUrl}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${await backendToken()}`,
        "content-type": "application/json",
      },
      signal: AbortSignal.timeout(init.timeoutMs ?? settings.backendTimeoutMs),
      cache: "no-store",
    });
  } catch {
    throw new BackendError(TRY_AGAIN, 503);
  }
  if (response.status === 204) return undefined as T;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    // The chat's 502/504 explain what went wrong with the AI assistant; the rest is ours.
    const detail = typeof body.detail === "string" ? body.detail : "";
    const own = response.status === 502 || response.status === 504 || response.status === 409;
    throw new BackendError(own && detail ? detail : TRY_AGAIN, response.status);
  }
  return body as T;
}

export async function listTasks(): Promise<Task[]> {
  const { data } = await call<{ data: Task[] }>("/api/tasks");
  return data;
}

export function createTask(title: string): Promise<Task> {
  return call<Task>("/api/tasks", { method: "POST", body: JSON.stringify({ title }) });
}

export function setCompleted(id: number, completed: boolean): Promise<Task> {
  return call<Task>(`/api/tasks/${id}`, { method: "PATCH", body: JSON.stringify({ completed }) });
}

export function deleteTask(id: number): Promise<void> {
  return call<void>(`/api/tasks/${id}`, { method: "DELETE" });
}

export function chat(message: string, conversationId: string | null): Promise<ChatAnswer> {
  return call<ChatAnswer>("/api/chat", {
    method: "POST",
    body: JSON.stringify(conversationId ? { message, conversation_id: conversationId } : { message }),
    timeoutMs: env().chatTimeoutMs,
  });
}
