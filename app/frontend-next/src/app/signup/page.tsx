import { signUp } from "../actions";
import { AuthForm } from "../auth-form";

export default function SignUpPage() {
  return (
    <main>
      <h1>Create an account</h1>
      <AuthForm action={signUp} submit="Create an account" other={{ href: "/signin", text: "I have an account" }} />
    </main>
  );
}
