"""Deterministic "intelligence" of the stand-in: plain-English rules instead of a model.

Given the chat-completions `messages`, `reply` returns the next assistant message:

- "add a task to buy milk", "add buy milk"            -> add_task(title="buy milk")
- "what is pending?", "list", "show my tasks"          -> list_tasks(status=...)
- "mark buy milk done", "complete it", "finish #3"     -> complete_task(task_id=...)
- "delete buy milk", "remove it"                       -> delete_task(task_id=...)
- "rename buy milk to buy oat milk"                    -> update_task(task_id=..., title=...)

A task named by title (or "it") is looked up in earlier tool results of the conversation;
when it is not there, the stand-in first calls list_tasks and decides on the next round.
Once tool results arrive, it answers with a short text that summarizes them.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

_FAULT_MARKER = re.compile(r"\[\[[a-z0-9]+\]\]")
_PRONOUNS = {"", "it", "that", "this", "that one", "this one"}

_ADD = re.compile(
    r"^(?:please\s+)?add\s+(?:an?\s+)?(?:new\s+)?(?:task|todo|item)?\s*(?:to\s+|called\s+|"
    r"named\s+|:\s*)?(?P<title>.+?)[\s.!]*$",
    re.IGNORECASE,
)
_COMPLETE = [
    re.compile(
        r"^(?:please\s+)?(?:mark|set)\s+(?P<target>.*?)\s*(?:as\s+)?"
        r"(?:done|complete|completed|finished)[\s.!]*$",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:please\s+)?(?:complete|finish|check off)\s+(?P<target>.+?)[\s.!]*$", re.I),
]
_DELETE = re.compile(r"^(?:please\s+)?(?:delete|remove)\s+(?P<target>.+?)[\s.!]*$", re.I)
_RENAME = re.compile(
    r"^(?:please\s+)?rename\s+(?P<target>.+?)\s+to\s+(?P<title>.+?)[\s.!]*$", re.IGNORECASE
)
_LIST = re.compile(r"\b(list|show|what|which|pending|tasks?|todos?)\b", re.IGNORECASE)

HELP_TEXT = (
    "I can manage your tasks: say 'add a task to buy milk', 'what is pending?',"
    " 'mark buy milk done', 'delete buy milk' or 'rename buy milk to buy bread'."
)


@dataclass(frozen=True)
class Intent:
    """What the last user message asks for."""

    tool: str | None
    arguments: dict[str, Any]
    target: str | None = None


def parse_intent(text: str) -> Intent:
    """Return the intent of a user message (fault markers such as `[[slow]]` are ignored)."""
    text = _FAULT_MARKER.sub("", text).strip()
    if match := _RENAME.match(text):
        return Intent("update_task", {"title": _unquote(match["title"])}, _target(match))
    for pattern in _COMPLETE:
        if match := pattern.match(text):
            return Intent("complete_task", {}, _target(match))
    if match := _DELETE.match(text):
        return Intent("delete_task", {}, _target(match))
    if match := _ADD.match(text):
        return Intent("add_task", {"title": _unquote(match["title"])})
    if _LIST.search(text):
        lowered = text.lower()
        if "pending" in lowered or "open" in lowered or "left" in lowered:
            status = "pending"
        elif "completed" in lowered or "done" in lowered or "finished" in lowered:
            status = "completed"
        else:
            status = "all"
        return Intent("list_tasks", {"status": status})
    return Intent(None, {})


def reply(messages: list[dict[str, Any]], tool_names: set[str]) -> dict[str, Any]:
    """Return the next assistant message (text or tool calls) for the conversation."""
    user_text = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    intent = parse_intent(user_text)
    this_turn = _tool_results_since_last_user(messages)
    if intent.tool is not None and intent.tool not in tool_names:
        return _text_message(f"I cannot do that: the tool {intent.tool} was not offered.")
    if intent.tool is None:
        return _text_message(HELP_TEXT)
    if intent.target is None:
        if this_turn:
            return _text_message(summarize(this_turn))
        return _tool_call_message(intent.tool, intent.arguments)
    # The intent names a task: act on it once its id is known.
    acted = [(name, result) for name, result in this_turn if name == intent.tool]
    if acted:
        # The look-up list is a means, not news: report only the action.
        return _text_message(summarize(acted))
    task_id = find_task_id(intent.target, messages)
    if task_id is not None:
        return _tool_call_message(intent.tool, {"task_id": task_id, **intent.arguments})
    if this_turn or "list_tasks" not in tool_names:
        return _text_message(f"I could not find a task matching '{intent.target}'.")
    return _tool_call_message("list_tasks", {"status": "all"})


def find_task_id(target: str, messages: list[dict[str, Any]]) -> int | None:
    """Return the id of the task that `target` names, from tool results seen so far."""
    if match := re.fullmatch(r"#?(\d+)", target):
        return int(match[1])
    candidates: list[dict[str, Any]] = []  # most recent first
    for result in _all_tool_results(messages):
        if isinstance(result.get("tasks"), list):
            tasks = [t for t in result["tasks"] if isinstance(t, dict)]
            if target in _PRONOUNS and len(tasks) == 1:
                return _task_id(tasks[0])
            candidates.extend(reversed(tasks))
        elif "id" in result and "title" in result:
            if target in _PRONOUNS:
                return _task_id(result)
            candidates.append(result)
    wanted = target.lower()
    for matches in (
        lambda title: title == wanted,
        lambda title: wanted in title,
    ):
        for task in candidates:
            if matches(str(task.get("title", "")).lower()):
                return _task_id(task)
    return None


def summarize(results: list[tuple[str, Any]]) -> str:
    """Return one short sentence per tool result."""
    sentences = []
    for name, result in results:
        if not isinstance(result, dict):
            sentences.append(f"{name} returned {json.dumps(result)}.")
        elif "error" in result:
            sentences.append(f"That did not work: {result['error']}.")
        elif name == "add_task":
            sentences.append(f"Added task {result.get('id')}: {result.get('title')}.")
        elif name == "list_tasks":
            sentences.append(_summarize_list(result))
        elif name == "complete_task":
            sentences.append(f"Marked task {result.get('id')} ({result.get('title')}) as done.")
        elif name == "delete_task":
            sentences.append(f"Deleted task {result.get('deleted')}.")
        else:
            sentences.append(f"Updated task {result.get('id')}: {result.get('title')}.")
    return " ".join(sentences)


def _summarize_list(result: dict[str, Any]) -> str:
    tasks = [t for t in result.get("tasks", []) if isinstance(t, dict)]
    status = result.get("status", "all")
    kind = {"pending": "pending ", "completed": "completed "}.get(status, "")
    if not tasks:
        return f"You have no {kind}tasks."
    items = "; ".join(
        f"#{t.get('id')} {t.get('title')}{' (done)' if t.get('completed') else ''}" for t in tasks
    )
    return f"You have {len(tasks)} {kind}task{'s' if len(tasks) != 1 else ''}: {items}."


def _target(match: re.Match[str]) -> str:
    target = _unquote(match["target"]).lower()
    return re.sub(r"^(?:the\s+)?(?:task\s+)?", "", target).strip()


def _unquote(text: str) -> str:
    return text.strip().strip("\"'\u201c\u201d\u2018\u2019").strip()


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _task_id(task: dict[str, Any]) -> int | None:
    value = task.get("id")
    return value if isinstance(value, int) else None


def _tool_names_by_call_id(messages: list[dict[str, Any]]) -> dict[str, str]:
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
    return names


def _tool_results_since_last_user(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    names = _tool_names_by_call_id(messages)
    results: list[tuple[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        if message.get("role") == "tool":
            results.insert(0, (names.get(message["tool_call_id"], "?"), _json(_text(message))))
    return results


def _all_tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every dict-shaped tool result of the conversation, most recent first."""
    results = [_json(_text(m)) for m in reversed(messages) if m.get("role") == "tool"]
    return [result for result in results if isinstance(result, dict)]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _text_message(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def _tool_call_message(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{secrets.token_hex(8)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }
