"""The TodoChatbot chart: parts wired together; installations coexist."""

import os
import subprocess
import sys
from pathlib import Path

import yaml
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


def pip(*args):
    """Run this interpreter's pip; a failure fails the test."""
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, capture_output=True)


def test_the_wheel_ships_the_bindings_and_chart_files(tmp_path):
    root = Path(__file__).resolve().parents[2]
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(root))
    (wheel,) = (tmp_path / "wheel").glob("todo_chatbot-*.whl")
    pip("install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel))
    code = (
        "import cdk8s, todo_chatbot; from todo_chatbot import helm, helm_chart; "
        "assert todo_chatbot.__file__.startswith(sys.argv[1]); "
        "app = cdk8s.App(); todo_chatbot.TodoChatbot(app, 't', props=helm.chart_props()); "
        "assert (helm_chart.CHART_FILES / 'templates' / '_helpers.tpl').is_file(); "
        "print(len(app.charts[0].to_json()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys; " + code, str(tmp_path / "site")],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(result.stdout) > 10


def readme_example(tmp_path, index):
    """Run the `index`-th Python example of the README; returns the synthesized objects."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```python\n")[index + 1].split("```", 1)[0]
    subprocess.run([sys.executable, "-c", example], cwd=tmp_path, check=True, capture_output=True)
    (output,) = (tmp_path / "dist").glob("*.k8s.yaml")
    return list(yaml.safe_load_all(output.read_text()))


def test_the_readme_library_example_synthesizes(tmp_path):
    kinds = [doc["kind"] for doc in readme_example(tmp_path, 0)]
    assert "Ingress" in kinds and "Secret" not in kinds


def test_the_readme_own_images_example_synthesizes(tmp_path):
    manifests = readme_example(tmp_path, 1)
    job = by_kind(manifests, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][0] == "alembic"
    backend = by_kind(manifests, "Deployment", "todo-chatbot-backend")
    assert backend["spec"]["template"]["spec"]["containers"][0]["ports"][0] == {
        "containerPort": 8080
    }
