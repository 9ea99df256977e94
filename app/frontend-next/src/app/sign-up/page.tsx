import { signUp } from "../actions";
import { AuthForm } from "../auth-form";

export default function SignUpPage() {
  return (
    <main>
      <h1>Create an account</h1>
      <AuthForm action={signUp} submit="Sign up" withName other={{ href: "/sign-in", text: "I have an account" }} />
    </main>
  );
}
