"""The migration Job: DATABASE_URL only, the backend's image, user and security settings."""

import pytest
from support.manifests import by_kind, container
from todo_chatbot import BackendProps, MigrationProps, NetworkPolicyProps


def test_runs_the_backend_image_with_database_url_only(synth_app):
    manifests = synth_app(migrations=MigrationProps(command=("alembic", "upgrade", "head")))
    job = by_kind(manifests, "Job", "todo-chatbot-migrations")
    main = container(job)
    backend = container(by_kind(manifests, "Deployment", "todo-chatbot-backend"))
    assert main["image"] == backend["image"]
    assert main["command"] == ["alembic", "upgrade", "head"]
    assert [var["name"] for var in main["env"]] == ["DATABASE_URL"]
    assert main["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL"
    assert main["securityContext"] == backend["securityContext"]
    assert main["resources"] == backend["resources"]
    assert "ephemeral-storage" in main["resources"]["limits"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (1, 240)


def test_follows_the_backend_names_and_security_overrides(synth_app):
    backend = BackendProps(
        image="registry.example/todo/backend:1.0",
        env_names={"DATABASE_URL": "DB_URL"},
        container_security_context={"runAsUser": 1001},
    )
    job = by_kind(synth_app(backend=backend, migrations=MigrationProps()), "Job")
    main = container(job)
    assert [var["name"] for var in main["env"]] == ["DB_URL"]
    assert main["securityContext"]["runAsUser"] == 1001
    assert "command" not in main, "no command: the image's own entrypoint migrates"


def test_image_args_env_and_limits_are_settable(synth_app):
    props = MigrationProps(
        image="registry.example/todo/migrate:1.0",
        args=("migrate",),
        extra_env_vars=({"name": "MIGRATIONS_DIR", "value": "/app/drizzle"},),
        backoff_limit=0,
        active_deadline_seconds=60,
    )
    job = by_kind(synth_app(migrations=props), "Job")
    main = container(job)
    assert main["image"] == "registry.example/todo/migrate:1.0"
    assert main["args"] == ["migrate"]
    assert main["env"][-1] == {"name": "MIGRATIONS_DIR", "value": "/app/drizzle"}
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 60)


def test_its_network_policy_reaches_dns_and_the_database_only(synth_app):
    policies = NetworkPolicyProps(database_cidrs=("10.1.0.0/16",), database_port=15432)
    manifests = synth_app(migrations=MigrationProps(), network_policy=policies)
    policy = by_kind(manifests, "NetworkPolicy", "todo-chatbot-migrations")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "migrations"
    assert "ingress" not in policy and policy["policyTypes"] == ["Ingress", "Egress"]
    dns, database = policy["egress"]
    assert {port["port"] for port in dns["ports"]} == {53}
    assert database == {
        "to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
        "ports": [{"port": 15432, "protocol": "TCP"}],
    }


def test_its_network_policy_takes_extra_egress(synth_app):
    https = {"to": [{"ipBlock": {"cidr": "10.9.0.0/16"}}], "ports": [{"port": 443}]}
    policies = NetworkPolicyProps(extra_egress_migrations=(https,))
    manifests = synth_app(migrations=MigrationProps(), network_policy=policies)
    policy = by_kind(manifests, "NetworkPolicy", "todo-chatbot-migrations")["spec"]
    assert policy["egress"][-1] == https


def test_no_job_by_default(synth_app):
    assert [m for m in synth_app() if m["kind"] == "Job"] == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (MigrationProps(backoff_limit=-1), "'backoff_limit' must be >= 0, got -1"),
        (
            MigrationProps(active_deadline_seconds=0),
            "'active_deadline_seconds' must be >= 1, got 0",
        ),
        (
            MigrationProps(extra_env_vars=({"name": "DATABASE_URL", "value": "x"},)),
            r"'extra_env_vars\[0\]' sets DATABASE_URL, which the chart sets already",
        ),
        (
            MigrationProps(extra_env_vars=({"name": "A", "value": "1"}, {"name": "A"})),
            r"'extra_env_vars\[1\]' sets A, as an earlier entry does",
        ),
        (
            MigrationProps(extra_env_vars=({"value": "x"},)),
            r"'extra_env_vars\[0\]' needs \['name'\], got keys \['value'\]",
        ),
    ],
)
def test_fails_when_migration_props_are_invalid(synth_app, props, message):
    with pytest.raises(ValueError, match=message):
        synth_app(migrations=props)
