"""NetworkPolicies: the backend hears only the frontend; egress only where needed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Protocol

import todo_chatbot.k8s as k8s
from constructs import Construct

from .frontend import Frontend
from .migration import Migration
from .workload import Json, Workload

DNS_PORT = 53
HELM_TEST_COMPONENT = "helm-test"
"""Component label of the chart's `helm test` pod, the backend's only other client."""


@dataclass(frozen=True, kw_only=True)
class NetworkPolicyProps:
    """Where the pods may connect besides the cluster DNS and each other."""

    database_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """Where the database lives, one CIDR at least; default: anywhere (managed databases move)."""
    database_port: int = 5432
    """Database port; default: 5432."""
    ai_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """Where the AI provider's API lives, one CIDR at least; default: anywhere."""
    ai_port: int = 443
    """AI API port; default: 443."""
    extra_egress_backend: tuple[Json, ...] = ()
    """More egress rules of the backend (Kubernetes NetworkPolicyEgressRule objects);
    default: none."""
    extra_egress_frontend: tuple[Json, ...] = ()
    """More egress rules of the frontend, e.g. the database over 443 for a serverless
    driver; default: none."""
    extra_egress_migrations: tuple[Json, ...] = ()
    """More egress rules of the migration Job, e.g. the database over 443; default: none."""
    backend_to_frontend: bool = False
    """Let the backend reach the frontend on the frontend's port (a Better Auth JWKS
    endpoint); default: no."""
    ingress_namespace: str = ""
    """Namespace where the ingress controller's (or the Gateway's proxy) pods run, admitted
    to the backend's port when the backend has a `public_path` (required then); default:
    none."""
    metrics_namespace: str = ""
    """Namespace where Prometheus runs, admitted to both components' metrics port (and no
    other port); default: none, nothing reaches the metrics port."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        for name in ("database_cidrs", "ai_cidrs"):
            # An egress rule with no peers admits every destination.
            if not getattr(self, name):
                raise ValueError(
                    f"'{name}' must hold at least one CIDR (\"0.0.0.0/0\" for anywhere), got ()"
                )
        for cidr in (*self.database_cidrs, *self.ai_cidrs):
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"CIDRs must look like 10.0.0.0/8, got '{cidr}'") from None
        for name in ("database_port", "ai_port"):
            if not 1 <= getattr(self, name) <= 65535:
                raise ValueError(f"'{name}' must be a port, got {getattr(self, name)}")


class NetworkPolicies(Construct):
    """One policy per component; children `Backend`, `Frontend`, `HelmTest` and `Migrations`.

    Escape hatch: plain NetworkPolicy objects, one rule per purpose (DNS,
    database, AI API, backend), because that is the shape operators audit
    and the shape the chart's `networkPolicy.egress` values map onto.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        frontend: Frontend,
        props: NetworkPolicyProps,
        migrations: Migration | None = None,
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        backend = frontend.backend
        if backend.public_path and not props.ingress_namespace:
            raise ValueError(
                "'ingress_namespace' must name the ingress controller's namespace when the "
                f"backend has a public path ('{backend.public_path}'), got ''"
            )
        instance_selector = dict(frontend.selector_labels)
        test_selector = {**instance_selector, "app.kubernetes.io/component": HELM_TEST_COMPONENT}
        database = _egress(props.database_cidrs, props.database_port)
        self.backend = _policy(
            self,
            "Backend",
            backend,
            ingress=[
                k8s.NetworkPolicyIngressRule(
                    from_=[_pods(frontend.selector_labels), _pods(test_selector)],
                    ports=[_tcp(backend.port)],
                ),
                *(
                    [
                        k8s.NetworkPolicyIngressRule(
                            from_=[_namespace(props.ingress_namespace)],
                            ports=[_tcp(backend.port)],
                        )
                    ]
                    if backend.public_path
                    else []
                ),
                *_scraper(props.metrics_namespace, backend.metrics_port),
            ],
            egress=[
                _dns(),
                database,
                _egress(props.ai_cidrs, props.ai_port),
                *([_to_pods(frontend)] if props.backend_to_frontend else []),
                *(_egress_rule(rule) for rule in props.extra_egress_backend),
            ],
        )
        self.frontend = _policy(
            self,
            "Frontend",
            frontend,
            ingress=[
                k8s.NetworkPolicyIngressRule(ports=[_tcp(frontend.port)]),
                *_scraper(props.metrics_namespace, frontend.metrics_port),
            ],
            egress=[
                _dns(),
                database,
                _to_pods(backend),
                *(_egress_rule(rule) for rule in props.extra_egress_frontend),
            ],
        )
        # The chart's `helm test` pod is a client only: it takes no connection and reaches
        # DNS and the two components' pods, nothing else.
        self.helm_test = _policy(
            self,
            "HelmTest",
            _HelmTestPods(
                name=f"{backend.name.removesuffix('-backend')}-{HELM_TEST_COMPONENT}",
                labels=backend.props.labels.of(HELM_TEST_COMPONENT),
                selector_labels=test_selector,
            ),
            egress=[_dns(), _to_pods(frontend), _to_pods(backend)],
        )
        if migrations is not None:
            # Its own policy: the migration runs before the others exist (a Helm hook).
            self.migrations = _policy(
                self,
                "Migrations",
                migrations,
                egress=[
                    _dns(),
                    database,
                    *(_egress_rule(rule) for rule in props.extra_egress_migrations),
                ],
            )


class PolicyPods(Protocol):
    """Pods a policy protects: its name and labels are theirs (a component's, a Job's)."""

    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def selector_labels(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class _HelmTestPods:
    """The chart's `helm test` pod, which no construct here owns."""

    name: str
    labels: dict[str, str]
    selector_labels: dict[str, str]


def _policy(
    scope: Construct,
    id: str,
    pods: PolicyPods,
    *,
    egress: list[k8s.NetworkPolicyEgressRule],
    ingress: list[k8s.NetworkPolicyIngressRule] | None = None,
) -> k8s.KubeNetworkPolicy:
    """A policy of both directions for `pods`: what the rules admit, no more.

    Without `ingress` rules no connection reaches the pods.
    """
    return k8s.KubeNetworkPolicy(
        scope,
        id,
        metadata=k8s.ObjectMeta(name=pods.name, labels=pods.labels),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(match_labels=pods.selector_labels),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
    )


def _to_pods(workload: Workload) -> k8s.NetworkPolicyEgressRule:
    """The rule letting pods reach the app port of `workload`'s pods."""
    return k8s.NetworkPolicyEgressRule(
        to=[_pods(workload.selector_labels)], ports=[_tcp(workload.port)]
    )


def _egress_rule(rule: Json) -> k8s.NetworkPolicyEgressRule:
    """An operator's rule, given as Kubernetes JSON, in the bindings' types.

    A JSON patch would not do: the bindings re-read the patched JSON and drop the ports.
    """
    return k8s.NetworkPolicyEgressRule(
        to=[_peer(peer) for peer in rule.get("to", [])] or None,
        ports=[
            k8s.NetworkPolicyPort(
                protocol=port.get("protocol"),
                port=None if "port" not in port else _int_or_string(port["port"]),
                end_port=port.get("endPort"),
            )
            for port in rule.get("ports", [])
        ]
        or None,
    )


def _peer(peer: Json) -> k8s.NetworkPolicyPeer:
    block = peer.get("ipBlock")
    return k8s.NetworkPolicyPeer(
        ip_block=None
        if block is None
        else k8s.IpBlock(cidr=block["cidr"], except_=block.get("except")),
        namespace_selector=_selector(peer.get("namespaceSelector")),
        pod_selector=_selector(peer.get("podSelector")),
    )


def _selector(selector: Json | None) -> k8s.LabelSelector | None:
    if selector is None:
        return None
    return k8s.LabelSelector(
        match_labels=selector.get("matchLabels"),
        match_expressions=[
            k8s.LabelSelectorRequirement(
                key=requirement["key"],
                operator=requirement["operator"],
                values=requirement.get("values"),
            )
            for requirement in selector.get("matchExpressions", [])
        ]
        or None,
    )


def _int_or_string(port: int | str) -> k8s.IntOrString:
    if isinstance(port, int):
        return k8s.IntOrString.from_number(port)
    return k8s.IntOrString.from_string(port)


def _scraper(namespace: str, port: int) -> list[k8s.NetworkPolicyIngressRule]:
    """The rule admitting Prometheus' namespace to the metrics port, if it is named."""
    if not namespace:
        return []
    return [k8s.NetworkPolicyIngressRule(from_=[_namespace(namespace)], ports=[_tcp(port)])]


def _namespace(name: str) -> k8s.NetworkPolicyPeer:
    return k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels={"kubernetes.io/metadata.name": name})
    )


def _tcp(port: int) -> k8s.NetworkPolicyPort:
    return k8s.NetworkPolicyPort(protocol="TCP", port=k8s.IntOrString.from_number(port))


def _pods(labels: dict[str, Any]) -> k8s.NetworkPolicyPeer:
    return k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=labels))


def _dns() -> k8s.NetworkPolicyEgressRule:
    # Any namespace: the DNS pods' labels differ between distributions.
    return k8s.NetworkPolicyEgressRule(
        to=[k8s.NetworkPolicyPeer(namespace_selector=k8s.LabelSelector())],
        ports=[
            k8s.NetworkPolicyPort(protocol=protocol, port=k8s.IntOrString.from_number(DNS_PORT))
            for protocol in ("UDP", "TCP")
        ],
    )


def _egress(cidrs: tuple[str, ...], port: int) -> k8s.NetworkPolicyEgressRule:
    return k8s.NetworkPolicyEgressRule(
        to=[k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=cidr)) for cidr in cidrs],
        ports=[_tcp(port)],
    )
