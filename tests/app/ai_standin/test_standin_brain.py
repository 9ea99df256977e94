"""The stand-in's deterministic rules (ai_standin.brain)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ai_standin import brain

pytestmark = pytest.mark.app

TOOL_NAMES = {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}


@pytest.mark.parametrize(
    ("text", "tool", "arguments", "target"),
    [
        ("add a task to buy milk", "add_task", {"title": "buy milk"}, None),
        ("Add buy milk", "add_task", {"title": "buy milk"}, None),
        ("please add a new task: call mom.", "add_task", {"title": "call mom"}, None),
        ('add "water plants"', "add_task", {"title": "water plants"}, None),
        ("what is pending?", "list_tasks", {"status": "pending"}, None),
        ("list", "list_tasks", {"status": "all"}, None),
        ("show my completed tasks", "list_tasks", {"status": "completed"}, None),
        ("mark buy milk done", "complete_task", {}, "buy milk"),
        ("mark it as done", "complete_task", {}, "it"),
        ("complete the task call mom", "complete_task", {}, "call mom"),
        ("delete #4", "delete_task", {}, "#4"),
        ("rename buy milk to buy oat milk", "update_task", {"title": "buy oat milk"}, "buy milk"),
        ("add a task to relax [[slow]]", "add_task", {"title": "relax"}, None),
        ("hello there", None, {}, None),
    ],
)
def test_parse_intent(
    text: str, tool: str | None, arguments: dict[str, Any], target: str | None
) -> None:
    assert brain.parse_intent(text) == brain.Intent(tool, arguments, target)


def tool_call(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [call] = message["tool_calls"]
    return call["function"]["name"], json.loads(call["function"]["arguments"])


def test_completing_an_unknown_title_lists_first_then_completes_by_id() -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "mark call mom done"}]
    first = brain.reply(messages, TOOL_NAMES)
    assert tool_call(first) == ("list_tasks", {"status": "all"})

    listing = {
        "status": "all",
        "tasks": [{"id": 3, "title": "buy milk"}, {"id": 9, "title": "Call Mom"}],
    }
    messages += [
        first,
        {
            "role": "tool",
            "tool_call_id": first["tool_calls"][0]["id"],
            "content": json.dumps(listing),
        },
    ]
    second = brain.reply(messages, TOOL_NAMES)
    assert tool_call(second) == ("complete_task", {"task_id": 9})

    messages += [
        second,
        {
            "role": "tool",
            "tool_call_id": second["tool_calls"][0]["id"],
            "content": json.dumps({"id": 9, "title": "Call Mom", "completed": True}),
        },
    ]
    assert brain.reply(messages, TOOL_NAMES) == {
        "role": "assistant",
        "content": "Marked task 9 (Call Mom) as done.",
    }


def test_it_refers_to_the_last_task_a_tool_returned() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "add a task to buy milk"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add_task", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"id": 5, "title": "buy milk"}'},
        {"role": "assistant", "content": "Added task 5: buy milk."},
        {"role": "user", "content": "mark it done"},
    ]
    assert tool_call(brain.reply(messages, TOOL_NAMES)) == ("complete_task", {"task_id": 5})


def test_unknown_request_gets_help_text() -> None:
    answer = brain.reply([{"role": "user", "content": "sing a song"}], TOOL_NAMES)
    assert answer == {"role": "assistant", "content": brain.HELP_TEXT}


@pytest.mark.parametrize(
    ("results", "text"),
    [
        ([("list_tasks", {"status": "pending", "tasks": []})], "You have no pending tasks."),
        (
            [
                (
                    "list_tasks",
                    {"status": "all", "tasks": [{"id": 1, "title": "a", "completed": True}]},
                )
            ],
            "You have 1 task: #1 a (done).",
        ),
        ([("delete_task", {"deleted": 4})], "Deleted task 4."),
        (
            [("complete_task", {"error": "task 4 not found"})],
            "That did not work: task 4 not found.",
        ),
        ([("update_task", {"id": 2, "title": "b"})], "Updated task 2: b."),
    ],
)
def test_summarize(results: list[tuple[str, Any]], text: str) -> None:
    assert brain.summarize(results) == text
