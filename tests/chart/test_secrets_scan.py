"""Secret values appear in the Secret's data and nowhere else in anything rendered."""

import base64
import json
import subprocess

import pytest
import yaml
from conftest import tool_path


def occurrences(text, values):
    return {value for value in values if value in text}


def encoded(values):
    return {base64.b64encode(value.encode()).decode() for value in values}


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_secrets_only_in_the_secret_data(render, credentials, provider):
    manifests = render({"ai": {"provider": provider}})
    values = set(credentials.values())
    for manifest in manifests:
        text = json.dumps(manifest)
        if manifest["kind"] == "Secret":
            data = manifest.pop("data")
            assert set(data.values()) <= encoded(values)
            text = json.dumps(manifest)
        assert not occurrences(text, values | encoded(values)), manifest["kind"]


def test_extra_secrets_and_the_migration_stay_in_secret_data(render, credentials):
    # The migration's own hook Secret holds DATABASE_URL too; the Job only references it.
    extra = {"GROQ_API_KEY": "gq-" + credentials["openaiApiKey"][::-1]}
    values = {
        "secrets": {**credentials, "extra": extra},
        "backend": {"extraSecretKeys": ["GROQ_API_KEY"]},
        "migrations": {"enabled": True},
    }
    manifests = render(values)
    secrets = set(credentials.values()) | set(extra.values())
    kinds = set()
    for manifest in manifests:
        kinds.add(manifest["kind"])
        if manifest["kind"] == "Secret":
            data = manifest.pop("data")
            assert set(data.values()) <= encoded(secrets)
        assert not occurrences(json.dumps(manifest), secrets | encoded(secrets)), manifest["kind"]
    assert {"Job", "Secret", "Deployment"} <= kinds


def test_chart_defaults_hold_no_secret(chart_dir):
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text())
    references = defaults["secrets"].pop("externalSecret")
    # existingSecretFrontendDatabaseUrl, a switch, is the one that is not a secret.
    assert all(value in ("", {}, False) for value in defaults["secrets"].values())
    # The ExternalSecret names where values live, never a value; none is named by default.
    assert references["remoteRefs"] == {}


def test_notes_hold_no_secret(chart_dir, tmp_path, credentials):
    # Helm 4: Helm 3 wants a reachable cluster even for a client-side dry run.
    helm = tool_path("helm")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"secrets": credentials}))
    result = subprocess.run(
        [helm, "install", "todo", str(chart_dir), "-f", str(values), "--dry-run=client"],
        capture_output=True,
        text=True,
        check=True,
    )
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "port-forward service/todo-todo-chatbot-frontend" in notes
    assert not occurrences(notes, set(credentials.values()) | encoded(credentials.values()))
