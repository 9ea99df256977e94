import { signIn } from "../actions";
import { AuthForm } from "../auth-form";

export default function SignInPage() {
  return (
    <main>
      <h1>Sign in</h1>
      <AuthForm action={signIn} submit="Sign in" other={{ href: "/signup", text: "Create an account" }} />
    </main>
  );
}
