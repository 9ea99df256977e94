import { signIn } from "../actions";
import { AuthForm } from "../auth-form";

// Sign-up answers the same whether or not the email had an account, so this says both.
const SIGNED_UP_NOTICE =
  "If this email had no account, it has one now: sign in with the password you chose. " +
  "If it already had one, nothing changed: sign in with that account's password.";

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const signedUp = "signed-up" in (await searchParams);
  return (
    <main>
      <h1>Sign in</h1>
      {signedUp && <p role="status">{SIGNED_UP_NOTICE}</p>}
      <AuthForm action={signIn} submit="Sign in" other={{ href: "/signup", text: "Create an account" }} />
    </main>
  );
}
