"use client";

import Link from "next/link";
import { useActionState } from "react";

import type { FormState } from "./actions";

interface Props {
  action: (state: FormState, form: FormData) => Promise<FormState>;
  submit: string;
  other: { href: string; text: string };
}

/** The sign-in and sign-up form; posts to a server action, shows its error. */
export function AuthForm({ action, submit, other }: Props) {
  const [state, formAction, pending] = useActionState(action, { error: null });
  return (
    <form className="auth" action={formAction}>
      <label>
        Email <input type="email" name="email" required autoComplete="email" />
      </label>
      <label>
        Password{" "}
        <input type="password" name="password" required minLength={8} autoComplete="current-password" />
      </label>
      {state.error && <p className="error" role="alert">{state.error}</p>}
      <button type="submit" disabled={pending}>{submit}</button>
      <Link href={other.href}>{other.text}</Link>
    </form>
  );
}
