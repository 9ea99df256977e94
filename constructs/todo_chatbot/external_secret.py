"""An External Secrets Operator `ExternalSecret` that creates the release's Secret."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cdk8s import ApiObjectMetadata

import todo_chatbot.external_secrets as eso
from constructs import Construct

from .labels import Labels

SecretStoreKind = Literal["SecretStore", "ClusterSecretStore"]
_STORE_KINDS = {
    "SecretStore": eso.ExternalSecretSpecSecretStoreRefKind.SECRET_STORE,
    "ClusterSecretStore": eso.ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
}
SECRET_STORE_KINDS = tuple(_STORE_KINDS)
"""The kinds of store an ExternalSecret may name."""
REFRESH_INTERVAL = re.compile(r"^(0|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$")
"""A Go duration, as the operator parses `refreshInterval` ("1h", "15m", "1h30m"; "0" never
refreshes)."""


@dataclass(frozen=True, kw_only=True)
class RemoteRef:
    """Where the value of one Secret key lives in the secret store."""

    key: str
    """Key of the remote secret (for the `kubernetes` provider: a Secret's name); required."""
    property: str = ""
    """Property of the remote secret (for the `kubernetes` provider: a key of that Secret);
    default: the whole remote value."""


@dataclass(frozen=True, kw_only=True)
class ExternalSecretProps:
    """Which secret store the Secret's values come from, and where in it."""

    secret_store_name: str
    """Name of the SecretStore (or ClusterSecretStore) that reads the remote secrets;
    required."""
    remote_refs: dict[str, RemoteRef]
    """Each key of the Secret and where its value lives; required."""
    secret_store_kind: SecretStoreKind = "SecretStore"
    """Kind of the store; default: a SecretStore in the Secret's namespace."""
    refresh_interval: str = "1h"
    """How often the operator reads the values again and updates the Secret (a Go duration);
    default: every hour, the operator's own default."""
    labels: Labels = Labels()
    """Standard labels; default: instance "todo-chatbot"."""

    def validate(self) -> None:
        """Fail early, showing the bad value (never a secret: none is here)."""
        if not self.secret_store_name:
            raise ValueError("'secret_store_name' must name a SecretStore, got an empty string")
        if self.secret_store_kind not in SECRET_STORE_KINDS:
            raise ValueError(
                f"'secret_store_kind' must be one of {list(SECRET_STORE_KINDS)}, "
                f"got '{self.secret_store_kind}'"
            )
        if not REFRESH_INTERVAL.match(self.refresh_interval):
            raise ValueError(
                "'refresh_interval' must be a Go duration such as 1h or 15m, "
                f"got '{self.refresh_interval}'"
            )
        if not self.remote_refs:
            raise ValueError("'remote_refs' must name at least one key, got none")
        for name, ref in self.remote_refs.items():
            if not ref.key:
                raise ValueError(f"'remote_refs.{name}.key' must not be empty")


class ExternalSecret(Construct):
    """Has the operator create (and own) the Secret `secret_name` from a secret store.

    The operator updates the Secret in place every `refresh_interval`; pods that read it
    through environment variables see a new value only once restarted. Child `Resource`.
    """

    def __init__(
        self, scope: Construct, id: str, *, secret_name: str, props: ExternalSecretProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = eso.ExternalSecret(
            self,
            "Resource",
            metadata=ApiObjectMetadata(name=secret_name, labels=props.labels.of("secrets")),
            spec=eso.ExternalSecretSpec(
                secret_store_ref=eso.ExternalSecretSpecSecretStoreRef(
                    name=props.secret_store_name,
                    kind=_STORE_KINDS[props.secret_store_kind],
                ),
                refresh_interval=props.refresh_interval,
                # Owner: the operator makes the ExternalSecret the Secret's owner, so deleting it
                # (helm uninstall) deletes the Secret too.
                target=eso.ExternalSecretSpecTarget(
                    name=secret_name,
                    creation_policy=eso.ExternalSecretSpecTargetCreationPolicy.OWNER,
                ),
                data=[
                    eso.ExternalSecretSpecData(
                        secret_key=name,
                        remote_ref=eso.ExternalSecretSpecDataRemoteRef(
                            key=ref.key, property=ref.property or None
                        ),
                    )
                    for name, ref in props.remote_refs.items()
                ],
            ),
        )
