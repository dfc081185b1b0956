"""The Kubernetes manifests (deploy/kubernetes/): valid for the Kubernetes versions the
README names, checked offline against Kubernetes' own schemas (kubernetes-validate
bundles them), strictly (an unknown field fails); in agreement with cog.yaml and the
README. tests/test_fleet.py runs what they name (probes, hook, metric) against the
real server."""

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gpt_image.flow import DEFAULT_PREDICTION_TIMEOUT
from gpt_image.metrics import DEFAULT_DELIVERY_SECONDS
from gpt_image.models import DEFAULT_MODEL
from tools.cog_schema import PROJECT_DIR
from tools.cog_server import container_env

MANIFESTS = PROJECT_DIR / "deploy" / "kubernetes"
# The oldest Kubernetes supported and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# The port cog's image serves on (cog 0.23.1: EXPOSE 5000, PORT defaults to 5000).
COG_PORT = 5000
# coglet gives each output upload 25 s (crates/coglet/src/orchestrator.rs).
UPLOAD_TIMEOUT_SECONDS = 25
# Cluster Autoscaler's --max-graceful-termination-sec default: the most a pod on a
# node it removes gets.
CLUSTER_AUTOSCALER_GRACE_SECONDS = 600
README = (PROJECT_DIR / "README.md").read_text()
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
SETTINGS = one("ConfigMap", "gpt-image-1-settings")["data"]
SCALED_OBJECT = one("ScaledObject")
# The metric the autoscaler's query names (test_fleet.py scrapes it from the server).
SCALING_METRIC = re.match(
    r"sum\((\w+)\{", SCALED_OBJECT["spec"]["triggers"][0]["metadata"]["query"]
).group(1)

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
    # The predictor's own count of predictions in flight.
    assert SCALING_METRIC == "gpt_image_predictions_in_flight"
    # A pod is wanted before its slots run out, and never fewer than the budget keeps.
    threshold = float(trigger["metadata"]["threshold"])
    assert 0 < threshold < int(SETTINGS["COG_MAX_CONCURRENCY"])
    assert spec["minReplicaCount"] >= 2
    # The autoscaler owns the count: a `replicas` would reset it on every apply.
    assert "replicas" not in DEPLOYMENT["spec"]


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


def test_ports_lead_from_the_service_to_coglet_and_metrics_to_the_predictor() -> None:
    ports = {port["name"]: port["containerPort"] for port in MODEL["ports"]}
    assert ports == {"http": COG_PORT, "metrics": int(SETTINGS["METRICS_PORT"])}
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    annotations = DEPLOYMENT["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
        SETTINGS["METRICS_PORT"],
        "/metrics",
    )
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert MODEL[probe]["httpGet"]["port"] == "metrics"
    # The hook runs `python -m gpt_image.drain` where the package is: cog's /src.
    assert MODEL["workingDir"] == "/src"


def test_liveness_restarts_only_a_worker_broken_for_minutes() -> None:
    live = MODEL["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 120
    # Longer than the predictor waits on coglet's own health check.
    assert live["timeoutSeconds"] > 12


def test_the_grace_period_outlasts_the_longest_prediction_and_its_delivery() -> None:
    """A prediction waits on OpenAI at most PREDICTION_TIMEOUT; its outputs and webhook
    then go out within DELIVERY_SECONDS, which must cover an upload."""
    timeout, delivery = float(SETTINGS["PREDICTION_TIMEOUT"]), float(SETTINGS["DELIVERY_SECONDS"])
    assert (timeout, delivery) == (DEFAULT_PREDICTION_TIMEOUT, DEFAULT_DELIVERY_SECONDS)
    assert delivery > UPLOAD_TIMEOUT_SECONDS
    grace = POD["terminationGracePeriodSeconds"]
    assert timeout + delivery < grace <= CLUSTER_AUTOSCALER_GRACE_SECONDS
    hook = MODEL["lifecycle"]["preStop"]["exec"]["command"]
    assert hook == ["python", "-m", "gpt_image.drain"]


def test_memory_is_the_readmes_for_this_many_slots() -> None:
    """The README's capacity table gives each concurrency.max its container memory."""
    slots = SETTINGS["COG_MAX_CONCURRENCY"]
    row = re.search(rf"^\| outputs inlined \(data URIs\) \| {slots} \| (\d+) GiB \|", README, re.M)
    assert row, "no capacity row in the README for these slots"
    memory = f"{row.group(1)}Gi"
    assert MODEL["resources"]["requests"]["memory"] == memory
    assert MODEL["resources"]["limits"]["memory"] == memory


def test_pods_run_as_non_root_on_a_read_only_root_filesystem() -> None:
    assert POD["securityContext"]["runAsNonRoot"] is True
    assert POD["securityContext"]["runAsUser"] != 0
    assert MODEL["securityContext"]["readOnlyRootFilesystem"] is True
    assert MODEL["securityContext"]["allowPrivilegeEscalation"] is False
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
