"use server";

import { revalidatePath } from "next/cache";
import { headers } from "next/headers";
import { redirect } from "next/navigation";

import { getAuth } from "@/lib/auth";
import * as backend from "@/lib/backend";

// Server actions: the browser posts forms here; this server signs in with Better Auth and
// calls the backend with the user's token. Next.js refuses actions from other origins.

// Where sign-up sends the user, new account or taken email alike (src/app/signin/page.tsx).
const SIGNED_UP = "/signin?signed-up";

export interface FormState {
  error: string | null;
}

function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

function authError(error: unknown): FormState {
  const message = error instanceof Error && error.message ? error.message : "try again";
  return { error: message };
}

export async function signUp(_: FormState, form: FormData): Promise<FormState> {
  try {
    await getAuth().api.signUpEmail({
      // Better Auth wants a name; the pages ask for the email only, as the Python frontend's.
      body: { name: field(form, "email").split("@")[0], email: field(form, "email"), password: field(form, "password") },
      headers: await headers(),
    });
  } catch (error) {
    return authError(error);
  }
  redirect(SIGNED_UP);
}

export async function signIn(_: FormState, form: FormData): Promise<FormState> {
  try {
    await getAuth().api.signInEmail({
      body: { email: field(form, "email"), password: field(form, "password") },
      headers: await headers(),
    });
  } catch (error) {
    return authError(error);
  }
  redirect("/");
}

export async function signOut(): Promise<void> {
  await getAuth().api.signOut({ headers: await headers() });
  redirect("/signin");
}

export async function addTask(_: FormState, form: FormData): Promise<FormState> {
  const title = field(form, "title").trim();
  if (!title) return { error: "A task needs a title." };
  try {
    await backend.createTask(title);
  } catch (error) {
    return { error: error instanceof backend.BackendError ? error.message : "try again" };
  }
  revalidatePath("/");
  return { error: null };
}

export async function toggleTask(id: number, completed: boolean): Promise<void> {
  await backend.setCompleted(id, completed);
  revalidatePath("/");
}

export async function removeTask(id: number): Promise<void> {
  await backend.deleteTask(id);
  revalidatePath("/");
}

export interface ChatResult {
  reply?: string;
  conversationId?: string;
  error?: string;
}

export async function sendChat(message: string, conversationId: string | null): Promise<ChatResult> {
  try {
    const answer = await backend.chat(message, conversationId);
    revalidatePath("/");
    return { reply: answer.reply, conversationId: answer.conversation_id };
  } catch (error) {
    return { error: error instanceof backend.BackendError ? error.message : "try again" };
  }
}
