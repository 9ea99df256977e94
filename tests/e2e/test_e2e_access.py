"""User story 5, external access: users reach the frontend only; only the frontend reaches the
backend (NetworkPolicy enforced by kube-router).
"""

from __future__ import annotations

import json

import pytest
from e2e_cluster import BACKEND, FRONTEND, Release, kubectl_json
from e2e_user import UserAgent

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# Tries the frontend (a positive control: the pod's network works) and the backend three
# times each, printing what happened.
PROBE = f"""
import json, time, urllib.request
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status
    except OSError as error:
        return type(error).__name__
results = {{"frontend": [], "backend": []}}
for _ in range(3):
    results["frontend"].append(get("http://{FRONTEND}/healthz"))
    results["backend"].append(get("http://{BACKEND}:8000/healthz"))
    time.sleep(1)
print(json.dumps(results))
"""


def test_frontend_answers_in_the_user_namespace(app: Release, user_agent: UserAgent) -> None:
    reply = user_agent.request("GET", app.url + "/healthz")
    assert reply.status == 200
    assert reply.headers["x-instance"] in app.ready_pods("frontend")


def test_backend_is_unreachable_from_the_user_namespace(
    app: Release, user_agent: UserAgent
) -> None:
    service = kubectl_json("-n", app.namespace, "get", "service", BACKEND)
    assert service["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in service["spec"]["ports"][0]
    pod_ip = app.pods("backend")[0]["status"]["podIP"]
    targets = {
        "cluster IP": f"http://{service['spec']['clusterIP']}:8000/healthz",
        "pod IP": f"http://{pod_ip}:8000/healthz",
        # The only host address the user can reach: nothing listens there on 8000.
        "host end of the user's link": f"http://{app.url.split('//')[1].split(':')[0]}:8000/",
    }
    answers = {name: user_agent.request("GET", url, timeout=3) for name, url in targets.items()}
    # No route leads to the pod and Service ranges (refused at once); the host's user link
    # drops what is not for a NodePort (TCB-USER-INPUT), so the connection times out.
    assert {name: (r.status, r.error) for name, r in answers.items()} == {
        "cluster IP": (None, "ConnectError"),
        "pod IP": (None, "ConnectError"),
        "host end of the user's link": (None, "ConnectTimeout"),
    }


def test_only_the_frontend_reaches_the_backend(app: Release) -> None:
    frontend = app.ready_pods("frontend")[0]
    [(status, body)] = app.http_in_pod(frontend, [{"url": f"http://{BACKEND}:8000/readyz"}])
    assert (status, json.loads(body)) == (200, {"status": "ready"})

    intruder = json.loads(app.run_pod("intruder", PROBE, labels={"app": "intruder"}))
    assert intruder["frontend"] == [200, 200, 200]
    assert all(result != 200 for result in intruder["backend"]), intruder
