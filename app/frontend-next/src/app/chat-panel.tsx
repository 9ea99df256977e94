"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";

import { sendChat } from "./actions";

interface Line {
  from: "you" | "assistant" | "error";
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
    setLines((old) => [...old, { from: "you", text: message }]);
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
      <ol id="chat-log" className="chat-log" aria-live="polite">
        {lines.map((line, index) => (
          <li key={index} className={line.from}>
            {line.text}
          </li>
        ))}
      </ol>
      <form onSubmit={submit}>
        <input type="text" name="message" placeholder="Ask the assistant" maxLength={4000} aria-label="Message to the assistant" />{" "}
        <button type="submit" disabled={pending}>Send</button>
      </form>
    </section>
  );
}
