"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";

import { sendChat } from "./actions";

interface Line {
  from: "user" | "assistant" | "error";
  text: string;
}

/** The chat with the assistant; the task list reloads after each answer (it may have acted). */
export function ChatPanel() {
  const router = useRouter();
  const [lines, setLines] = useState<Line[]>([]);
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const message = new FormData(form).get("message");
    if (typeof message !== "string" || !message.trim()) return;
    setLines((old) => [...old, { from: "user", text: message }]);
    setPending(true);
    form.reset();
    const result = await sendChat(message, conversationId);
    setPending(false);
    if (result.error !== undefined) {
      setLines((old) => [...old, { from: "error", text: result.error ?? "" }]);
      return;
    }
    setConversationId(result.conversationId ?? null);
    setLines((old) => [...old, { from: "assistant", text: result.reply ?? "" }]);
    router.refresh();
  }

  return (
    <section className="chat">
      <h2>Assistant</h2>
      <div className="chat-log" aria-live="polite">
        {lines.map((line, index) => (
          <p key={index} className={line.from}>
            {line.from === "user" ? "You: " : line.from === "assistant" ? "Assistant: " : ""}
            {line.text}
          </p>
        ))}
      </div>
      <form onSubmit={submit}>
        <input type="text" name="message" placeholder="Ask the assistant" maxLength={4000} aria-label="Message" />{" "}
        <button type="submit" disabled={pending}>{pending ? "…" : "Send"}</button>
      </form>
    </section>
  );
}
