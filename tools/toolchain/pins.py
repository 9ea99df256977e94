"""The version of every tool the project builds: what a version bump touches.

The local cluster (cluster/localcluster/settings.py) and the image catalogue
(images/imagebuild/catalogue.py) read these too, so each version is written here only.
"""

# Current Helm 4 release served by the Go module proxy; the project's default `helm`.
HELM_VERSION = "v4.3.1"
# Newest Helm 3 release served, installed as `helm3` to check the chart still works with Helm 3.
HELM3_VERSION = "v3.22.0"

# The chart's independent checkers (tests/chart/test_checkers.py), both `go install`able with no
# replace directive. kube-score v1.20.0 is the newest release the Go module proxy serves.
KUBE_SCORE_VERSION = "v1.20.0"
# kubeconform v0.8.0, the newest release served; its go.mod asks for Go 1.26, which we have.
KUBECONFORM_VERSION = "v0.8.0"

# Kubernetes 1.33: the newest line that still runs on this machine's cgroup v1 hybrid layout
# (1.33 and 1.34 only warn; 1.35 refuses cgroup v1) and speaks CRI v1 with Debian 12's
# containerd 1.6.20 and the cgroupfs driver. v1.33.13 is the newest 1.33 patch served.
KUBERNETES_VERSION = "v1.33.13"

# Kubernetes' own pause binary, build/pause/linux/pause.c of k8s.io/kubernetes, at the tag of
# build/pause/Makefile in that release (checked when it is built).
PAUSE_VERSION = "v3.10.1"

# etcd 3.5, the line Kubernetes 1.33 is tested with. Debian 12 ships 3.4.23, older than the
# 3.4.31/3.5.13 fixes that the 1.33 apiserver requires before it sends watch progress requests
# (k8s.io/apiserver pkg/storage/feature), so its consistent reads from cache would stay off.
# v3.5.35 is the newest 3.5 served.
ETCD_VERSION = "v3.5.35"

# CoreDNS 1.15.0: the newest release served; its go.mod asks for Go 1.26.0, which we have.
COREDNS_VERSION = "v1.15.0"
# metrics-server 0.8.0: the release for Kubernetes 1.31+ that was tried here (0.9.0 was not).
METRICS_SERVER_VERSION = "v0.8.0"
# kube-router v2.1.0 is the only v2 release the module proxy serves. Its reported flaw
# (GHSA-phqm-jgc3-qf8g) is in the service proxy, which the cluster does not run: kube-router
# runs as the NetworkPolicy firewall only (--run-firewall, no --run-service-proxy/--run-router).
KUBE_ROUTER_VERSION = "v2.1.0"

# Traefik v3.6.12, the newest v3 release whose whole module graph the Go module proxy serves.
# The v3.7 releases it lists (v3.7.11 to v3.7.13) cannot be built from it: they need a fork of
# go-http-auth at a version it refuses and 14 DNS provider SDKs of lego v5 that it does not
# serve at all, and their go.mod replaces an unpublished nested module by a local folder.
# v3.6 implements Gateway API v1.4 (GatewayClass, Gateway, HTTPRoute v1, which the v1.6.1 CRDs
# of the cluster serve unchanged).
TRAEFIK_VERSION = "v3.6.12"

# Prometheus Operator v0.93.0: the release whose CRDs ../shared/crds holds (the chart's
# ServiceMonitor, PodMonitor and PrometheusRule bindings come from them).
PROMETHEUS_OPERATOR_VERSION = "v0.93.0"
# Prometheus v3.13.1 (Go module github.com/prometheus/prometheus v0.313.1): the operator v0.93.0's
# DefaultPrometheusVersion, the newest entry of the compatibility matrix its e2e tests run, and
# the Prometheus its go.mod requires, so the configuration it generates is checked by the same
# parser that reads it. The 3.13 line is a long-term support release.
PROMETHEUS_VERSION = "v3.13.1"

# Node.js 24 LTS (supported until 2028-04-30) for jsii and cdk8s-cli, which report the machine's
# Node 20 as end-of-life. The npm registry's `node-linux-<arch>` packages ship the official
# binary (toolchain/node.py); 24.22.3 is the newest 24 release they serve.
NODE_VERSION = "v24.22.3"
