"""The database migration: a Job that runs before a new version of the backend serves."""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s_plus_28 as kplus
from cdk8s import ApiObject, ApiObjectMetadata, Duration, JsonPatch, Size

from constructs import Construct

from .backend import Backend
from .secret import DATABASE_URL, Secrets
from .workload import (
    PULL_POLICIES,
    RESTRICTED_CONTAINER,
    RESTRICTED_POD,
    Json,
    add_ephemeral_storage,
    check_unique_env,
    merge_security_contexts,
)

COMPONENT = "migrations"


@dataclass(frozen=True, kw_only=True)
class MigrationProps:
    """What migrates the database; the Job gets DATABASE_URL and nothing else secret."""

    image: str | None = None
    """Image that migrates; default: the backend's image."""
    command: tuple[str, ...] = ()
    """Command that migrates (e.g. `alembic upgrade head`); default: the image's entrypoint."""
    args: tuple[str, ...] = ()
    """Arguments of the command; default: the image's cmd."""
    extra_env_vars: tuple[Json, ...] = ()
    """More variables (Kubernetes EnvVar objects); default: none."""
    backoff_limit: int = 1
    """Retries of a failed migration before the Job fails; default: 1."""
    active_deadline_seconds: int = 240
    """Time the migration may take in all; default: 240 s, under Helm's default 5 min
    timeout, so a hung migration fails as the Job's own deadline, naming the Job."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if self.backoff_limit < 0:
            raise ValueError(f"'backoff_limit' must be >= 0, got {self.backoff_limit}")
        if self.active_deadline_seconds < 1:
            raise ValueError(
                f"'active_deadline_seconds' must be >= 1, got {self.active_deadline_seconds}"
            )
        for index, item in enumerate(self.extra_env_vars):
            if "name" not in item:
                raise ValueError(
                    f"'extra_env_vars[{index}]' needs ['name'], got keys {sorted(item)}"
                )


class Migration(Construct):
    """A Job that migrates the database, as the backend's user, under its security settings.

    Child `Resource` is the Job. The Helm chart runs it as a pre-install and pre-upgrade
    hook, so a failed migration fails the install or upgrade and leaves the running
    release as it was.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        backend: Backend,
        secrets: Secrets,
        props: MigrationProps,
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        backend_props = backend.props
        self.labels = backend_props.labels.of(COMPONENT)
        self.selector_labels = backend_props.labels.selector(COMPONENT)
        name = f"{backend.name.removesuffix('-backend')}-{COMPONENT}"
        tmp = kplus.Volume.from_empty_dir(self, "Tmp", "tmp", size_limit=Size.mebibytes(64))
        self.resource = kplus.Job(
            self,
            "Resource",
            metadata=ApiObjectMetadata(name=name, labels=self.labels),
            pod_metadata=ApiObjectMetadata(labels=self.labels),
            select=False,
            automount_service_account_token=False,
            backoff_limit=props.backoff_limit,
            active_deadline=Duration.seconds(props.active_deadline_seconds),
            restart_policy=kplus.RestartPolicy.NEVER,
            security_context=RESTRICTED_POD,
            volumes=[tmp],
        )
        database_url = backend_props.env_names.get(DATABASE_URL, DATABASE_URL)
        check_unique_env("extra_env_vars", [database_url], props)
        self.resource.add_container(
            name=COMPONENT,
            image=props.image or backend_props.image,
            image_pull_policy=PULL_POLICIES[backend_props.image_pull_policy],
            command=list(props.command) or None,
            args=list(props.args) or None,
            env_variables={database_url: secrets.env_value(DATABASE_URL)},
            resources=backend.deployment.containers[0].resources,
            security_context=RESTRICTED_CONTAINER,
            volume_mounts=[kplus.VolumeMount(path="/tmp", volume=tmp)],
        )
        job = ApiObject.of(self.resource)
        add_ephemeral_storage(job, backend_props)
        merge_security_contexts(job, backend_props)
        # Escape hatch: cdk8s-plus takes no Kubernetes-shaped EnvVar as it is.
        for item in props.extra_env_vars:
            job.add_json_patch(JsonPatch.add("/spec/template/spec/containers/0/env/-", item))
        if backend_props.image_pull_secrets:
            job.add_json_patch(
                JsonPatch.add(
                    "/spec/template/spec/imagePullSecrets",
                    [{"name": secret} for secret in backend_props.image_pull_secrets],
                )
            )

    @property
    def name(self) -> str:
        """Name of the Job."""
        return self.resource.name
