import { headers } from "next/headers";

import type { GenericEndpointContext } from "better-auth";
import { createJwk } from "better-auth/plugins";

import { getAuth } from "./auth";
import { jwtOptions } from "./auth-options";
import { env } from "./env";
import { log } from "./log";

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

// Better Auth's words when the newest signing key is sealed with another BETTER_AUTH_SECRET.
const KEY_SEALED_WITH_ANOTHER_SECRET = "Failed to decrypt private key";

async function backendToken(): Promise<string> {
  const auth = getAuth();
  const request = { headers: await headers() };
  try {
    return (await auth.api.getToken(request)).token;
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith(KEY_SEALED_WITH_ANOTHER_SECRET))) {
      throw error;
    }
  }
  // BETTER_AUTH_SECRET was rotated: Better Auth seals each private key with it, so it can no
  // longer sign with the newest key. A new key sealed with the current secret signs from now
  // on; the old public keys stay in the key set, so tokens already issued verify until they
  // expire (5 minutes).
  // createJwk reads only the context's adapter and secret; the typed context of this auth's
  // plugins is wider than the generic one it declares.
  const context = { context: await auth.$context } as unknown as GenericEndpointContext;
  await createJwk(context, jwtOptions(env()));
  log("info", "signing key replaced after a secret rotation");
  return (await auth.api.getToken(request)).token;
}

/** The backend's answer to `path` as the signed-in user; BackendError when unreachable. */
export async function forward(
  path: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<Response> {
  const settings = env();
  try {
    return await fetch(`${settings.backendUrl}${path}`, {
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
}

async function call<T>(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<T> {
  const response = await forward(path, init);
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
