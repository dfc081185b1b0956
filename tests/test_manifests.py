"""The Kubernetes manifests (deploy/kubernetes/): valid for the Kubernetes versions the
README names, checked offline against Kubernetes' own schemas (kubernetes-validate
bundles them), strictly (an unknown field fails); in agreement with cog.yaml and the
README; and probes that do what their comment says, run against the real server."""

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml

from gpt_image.models import DEFAULT_MODEL
from tests.conftest import API_KEY
from tools.cog_schema import PROJECT_DIR
from tools.cog_server import CogServer, container_env, free_port
from tools.openai_standin import StandIn

MANIFESTS = PROJECT_DIR / "deploy" / "kubernetes"
# The oldest (native sidecars on by default) and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# The port cog's image serves on (cog 0.23.1: EXPOSE 5000, PORT defaults to 5000).
COG_PORT = 5000
# The openai SDK honours OpenAI's retry-after up to two minutes between attempts
# (openai-python 3.54, _base_client.py, MAX_RETRY_AFTER_DELAY); coglet gives each
# output upload 25 s (crates/coglet/src/orchestrator.rs).
MAX_RETRY_WAIT_SECONDS = 120
UPLOAD_TIMEOUT_SECONDS = 25
README = (PROJECT_DIR / "README.md").read_text()
# Where the sizing table lives.
DEPLOYMENT_DOC = (PROJECT_DIR / "docs" / "deployment.md").read_text()
COG_YAML = yaml.safe_load((PROJECT_DIR / "cog.yaml").read_text())


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


ALL = {
    f"{path.relative_to(MANIFESTS)}:{doc['kind']}/{doc['metadata']['name']}": doc
    for path in sorted(MANIFESTS.rglob("*.yaml"))
    for doc in documents(path)
}


def one(kind: str, name: str = "gpt-image-1") -> dict[str, Any]:
    (doc,) = [d for d in ALL.values() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


DEPLOYMENT = one("Deployment")
POD = DEPLOYMENT["spec"]["template"]["spec"]
(MODEL,) = POD["containers"]
(ENVOY,) = POD["initContainers"]
SETTINGS = one("ConfigMap", "gpt-image-1-settings")["data"]
ENVOY_CONFIG = yaml.safe_load(one("ConfigMap", "gpt-image-1-envoy")["data"]["envoy.yaml"])
SCALED_OBJECT = one("ScaledObject")

# KEDA's CRDs are not in Kubernetes' schemas. The ScaledObject is checked against the
# fields KEDA 2.x documents, and the HorizontalPodAutoscaler KEDA makes of it (one
# External metric, an AverageValue target of the trigger's threshold) is validated
# like the rest.
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef",
    "minReplicaCount",
    "maxReplicaCount",
    "pollingInterval",
    "cooldownPeriod",
    "idleReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
PROMETHEUS_TRIGGER_FIELDS = {"serverAddress", "query", "threshold", "activationThreshold"}


def hpa_keda_makes(scaled_object: dict[str, Any]) -> dict[str, Any]:
    spec = scaled_object["spec"]
    (trigger,) = spec["triggers"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"keda-hpa-{scaled_object['metadata']['name']}"},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                **spec["scaleTargetRef"],
            },
            "minReplicas": spec["minReplicaCount"],
            "maxReplicas": spec["maxReplicaCount"],
            "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": f"s0-{trigger['type']}"},
                        "target": {
                            "type": "AverageValue",
                            "averageValue": trigger["metadata"]["threshold"],
                        },
                    },
                }
            ],
        },
    }


KUBERNETES_OBJECTS = {
    **{name: doc for name, doc in ALL.items() if doc["kind"] != "ScaledObject"},
    "HPA made by KEDA": hpa_keda_makes(SCALED_OBJECT),
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(KUBERNETES_OBJECTS))
def test_manifest_is_valid_kubernetes(name: str, version: str) -> None:
    kubernetes_validate.validate(KUBERNETES_OBJECTS[name], version, strict=True)


def test_the_validator_works_offline_and_strictly() -> None:
    """It validates against the schemas it ships, and refuses a field Kubernetes lacks."""
    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in KUBERNETES_VERSIONS:
        assert (bundled / f"v{version}-local-strict").is_dir()
    wrong = {**one("Service"), "spec": {**one("Service")["spec"], "targetPorts": [8080]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_scaled_object_uses_only_kedas_fields() -> None:
    assert SCALED_OBJECT["apiVersion"] == "keda.sh/v1alpha1"
    spec = SCALED_OBJECT["spec"]
    assert set(spec) <= SCALED_OBJECT_FIELDS
    assert spec["scaleTargetRef"] == {"name": DEPLOYMENT["metadata"]["name"]}
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert set(trigger["metadata"]) <= PROMETHEUS_TRIGGER_FIELDS
    assert all(isinstance(value, str) for value in trigger["metadata"].values())  # the CRD's type
    # The metric is the one Envoy reports for the cluster in front of coglet.
    assert 'envoy_cluster_name="coglet"' in trigger["metadata"]["query"]
    # A pod is wanted before its slots run out, and never fewer than the budget keeps.
    threshold = float(trigger["metadata"]["threshold"])
    assert 0 < threshold < int(SETTINGS["COG_MAX_CONCURRENCY"])
    assert spec["minReplicaCount"] >= 2 == DEPLOYMENT["spec"]["replicas"]


def test_settings_agree_with_cog_yaml_and_the_readme() -> None:
    baked = container_env()
    assert SETTINGS["OPENAI_IMAGE_MODEL"] == baked["OPENAI_IMAGE_MODEL"] == DEFAULT_MODEL
    assert SETTINGS["COG_MAX_CONCURRENCY"] == str(COG_YAML["concurrency"]["max"])
    for name in ("OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "OUTPUT_RETENTION_MB"):  # README defaults
        assert f"| `{name}` | `{SETTINGS[name]}` |" in README, name
    assert MODEL["envFrom"] == [{"configMapRef": {"name": "gpt-image-1-settings"}}]


def test_the_operator_key_is_an_optional_secret() -> None:
    (key,) = [env for env in MODEL["env"] if env["name"] == "OPENAI_API_KEY"]
    assert key["valueFrom"]["secretKeyRef"]["optional"] is True
    assert "OPENAI_API_KEY" not in SETTINGS


def test_ports_lead_from_the_service_through_envoy_to_coglet() -> None:
    assert MODEL["ports"] == [{"name": "coglet", "containerPort": COG_PORT}]
    listeners = {
        listener["name"]: listener["address"]["socket_address"]["port_value"]
        for listener in ENVOY_CONFIG["static_resources"]["listeners"]
    }
    clusters = {
        cluster["name"]: cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        for cluster in ENVOY_CONFIG["static_resources"]["clusters"]
    }
    assert clusters["coglet"]["address"]["socket_address"]["port_value"] == COG_PORT
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == listeners["predictions"]
    envoy_ports = {port["name"]: port["containerPort"] for port in ENVOY["ports"]}
    assert envoy_ports == {"http": listeners["predictions"], "metrics": listeners["metrics"]}
    annotations = DEPLOYMENT["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == listeners["metrics"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert f"127.0.0.1:{COG_PORT}/health-check" in MODEL[probe]["exec"]["command"][-1]


def test_the_grace_period_outlasts_the_longest_prediction() -> None:
    timeout, retries = float(SETTINGS["OPENAI_TIMEOUT"]), int(SETTINGS["OPENAI_MAX_RETRIES"])
    longest = (retries + 1) * timeout + retries * MAX_RETRY_WAIT_SECONDS + UPLOAD_TIMEOUT_SECONDS
    assert POD["terminationGracePeriodSeconds"] >= longest
    assert ENVOY["restartPolicy"] == "Always"  # stopped only after coglet has drained


def test_memory_is_the_sizing_tables_for_this_many_slots() -> None:
    """docs/deployment.md's sizing table gives each concurrency.max its container memory."""
    slots = SETTINGS["COG_MAX_CONCURRENCY"]
    row = re.search(
        rf"^\| outputs inlined \(data URIs\) \| {slots} \| (\d+) GiB \|", DEPLOYMENT_DOC, re.M
    )
    assert row, "no row in the sizing table for these slots"
    memory = f"{row.group(1)}Gi"
    assert MODEL["resources"]["requests"]["memory"] == memory
    assert MODEL["resources"]["limits"]["memory"] == memory


def test_pods_run_as_non_root_on_a_read_only_root_filesystem() -> None:
    assert POD["securityContext"]["runAsNonRoot"] is True
    assert POD["securityContext"]["runAsUser"] != 0
    for container in (MODEL, ENVOY):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # Where coglet and the package write: TMPDIR, /tmp/coglet, /var/run/cog/ready.
    volumes = {volume["name"]: volume for volume in POD["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in MODEL["volumeMounts"]}
    assert "emptyDir" in mounts["/tmp"] and "emptyDir" in mounts["/var/run/cog"]


def test_the_disruption_budget_covers_the_pods() -> None:
    budget = one("PodDisruptionBudget")["spec"]
    assert budget["selector"] == DEPLOYMENT["spec"]["selector"]
    assert one("Service")["spec"]["selector"] == DEPLOYMENT["spec"]["selector"]["matchLabels"]


def test_the_image_leaves_the_manifests_out() -> None:
    ignored = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    assert "deploy" in ignored


# -- the probes, run as the kubelet runs them, against the real server -----------------


def probe(kind: str, port: int) -> int:
    """The probe's exit status (0: success) with the server on `port`."""
    command = [arg.replace(f":{COG_PORT}/", f":{port}/") for arg in MODEL[kind]["exec"]["command"]]
    assert command[0] == "python"
    return subprocess.run([sys.executable, *command[1:]], capture_output=True).returncode


@pytest.fixture
def busy_server(openai: StandIn) -> Iterator[CogServer]:
    """A server with one slot, taken by a prediction the stand-in holds."""
    cog = CogServer(env={"OPENAI_BASE_URL": openai.base_url, "COG_MAX_CONCURRENCY": "1"})
    cog.start()
    openai.hold()
    inputs = {"openai_api_key": API_KEY, "prompt": "a lighthouse"}
    thread = threading.Thread(target=cog.predict, args=(inputs,))
    thread.start()
    try:
        for _ in range(1500):  # until the prediction holds the slot (30 s at most)
            if requests.get(f"{cog.url}/health-check", timeout=5).json()["status"] == "BUSY":
                break
            time.sleep(0.02)
        yield cog
    finally:
        openai.release()
        thread.join()
        cog.stop()


def test_a_ready_server_is_ready_and_alive(server: CogServer) -> None:
    assert probe("readinessProbe", server.port) == 0
    assert probe("startupProbe", server.port) == 0
    assert probe("livenessProbe", server.port) == 0


def test_a_busy_server_leaves_rotation_and_stays_alive(busy_server: CogServer) -> None:
    assert probe("readinessProbe", busy_server.port) == 1
    assert probe("livenessProbe", busy_server.port) == 0


def test_a_closed_port_is_not_ready_but_not_dead() -> None:
    """After SIGTERM coglet closes its port while it drains: the pod must leave
    rotation, and must not be restarted, which would cut its predictions short."""
    port = free_port()
    assert probe("readinessProbe", port) == 1
    assert probe("startupProbe", port) == 1
    assert probe("livenessProbe", port) == 0
