"""The TodoChatbot chart: parts wired together; installations coexist."""

import subprocess
import sys

from support.manifests import by_kind
from todo_chatbot import Labels


def test_two_instances_have_distinct_names_and_selectors(synth_app):
    first = synth_app(labels=Labels(instance="blue"))
    second = synth_app(labels=Labels(instance="green"))
    names = {(m["kind"], m["metadata"]["name"]) for m in first}
    assert names.isdisjoint({(m["kind"], m["metadata"]["name"]) for m in second})
    selector = by_kind(second, "Service", "green-backend")["spec"]["selector"]
    assert selector["app.kubernetes.io/instance"] == "green"


def test_every_object_carries_the_standard_labels(synth_app):
    for manifest in synth_app():
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "todo-chatbot", manifest["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "cdk8s", manifest["kind"]


def test_importable_as_a_library_without_shadowing_constructs():
    code = (
        "import constructs, todo_chatbot; "
        "from todo_chatbot import Backend, Frontend, Secrets, Ingress, TodoChatbot; "
        "assert hasattr(constructs, 'Construct'); print(todo_chatbot.__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True
    )
    assert result.stdout.strip() == "todo_chatbot"
