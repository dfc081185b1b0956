"""What the Kubernetes manifests rest on, run against the real prediction server: the
metric the autoscaler's query names, on the port the Deployment declares; the probes
as the kubelet runs them (an HTTP GET, 200-399 is success); and the pod stopped the
way the Deployment stops it (preStop hook, then SIGTERM) with asynchronous
predictions in flight.
"""

import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import API_KEY, wait_for
from tests.test_async import final, start, uploads_url
from tests.test_drain import predict_in_background
from tests.test_manifests import MODEL, SCALING_METRIC, SETTINGS
from tools.cog_server import CogServer, free_port, path_with_this_python
from tools.openai_standin import StandIn

# The hook waits this long after the last prediction ended, for coglet to deliver its
# outputs and webhook; the manifests' 30 s, shortened so the tests stay quick.
DELIVERY_SECONDS = 2


def pod_server(standin: StandIn, **env: str) -> CogServer:
    """The server as the Deployment runs it: the ConfigMap's settings, but on free
    ports of this machine, and outputs PUT to the stand-in's file store."""
    settings = {
        **SETTINGS,
        "OPENAI_BASE_URL": standin.base_url,
        "METRICS_PORT": str(free_port()),
        "DELIVERY_SECONDS": str(DELIVERY_SECONDS),
        **env,
    }
    return CogServer(env=settings, upload_url=uploads_url(standin))


@pytest.fixture
def pod(openai: StandIn) -> Iterator[CogServer]:
    server = pod_server(openai).start()
    yield server
    openai.release()
    server.stop()


def metrics_port(server: CogServer) -> int:
    return int(server.env["METRICS_PORT"])


def scrape(server: CogServer, name: str) -> float:
    """The value of one unlabelled metric, read as Prometheus reads it."""
    text = requests.get(f"http://127.0.0.1:{metrics_port(server)}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} is not served")


def probe(kind: str, server: CogServer) -> bool:
    """The probe as the kubelet runs it: success on an HTTP status from 200 to 399."""
    get = MODEL[kind]["httpGet"]
    assert get["port"] == "metrics"
    url = f"http://127.0.0.1:{metrics_port(server)}{get['path']}"
    try:
        status = requests.get(url, timeout=MODEL[kind]["timeoutSeconds"]).status_code
    except requests.ConnectionError:
        return False
    return 200 <= status < 400


def run_hook(server: CogServer) -> subprocess.Popen[bytes]:
    """The Deployment's preStop command, run where the image runs it (/src) with the
    container's environment."""
    command = MODEL["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "python"
    env = {"PATH": path_with_this_python(), **server.env}
    return subprocess.Popen(command, cwd=server.src, env=env, stdout=subprocess.PIPE)


def test_the_autoscalers_metric_counts_asynchronous_predictions(
    pod: CogServer, openai: StandIn
) -> None:
    assert scrape(pod, SCALING_METRIC) == 0
    openai.hold()
    ids = [start(pod, openai) for _ in range(3)]
    wait_for(lambda: len(openai.requests) == 3, "three predictions waiting on OpenAI")
    assert scrape(pod, SCALING_METRIC) >= 3
    openai.release()
    assert all(final(openai, prediction_id)["status"] == "succeeded" for prediction_id in ids)
    wait_for(lambda: scrape(pod, SCALING_METRIC) == 0, "the metric back at 0")
    assert scrape(pod, "gpt_image_predictions_total") == 3  # by outcome: all succeeded
    assert scrape(pod, "gpt_image_images_total") == 3
    assert scrape(pod, "gpt_image_openai_tokens_total") > 0  # input, the first served
    assert scrape(pod, "gpt_image_openai_estimated_cost_dollars_total") > 0


def test_stopped_as_the_deployment_stops_it_every_prediction_succeeds(
    pod: CogServer, openai: StandIn
) -> None:
    openai.hold()
    ids = [start(pod, openai, number_of_images=2) for _ in range(3)]
    (synchronous,), answers = predict_in_background(pod, 1)
    wait_for(lambda: len(openai.requests) == 4, "four predictions waiting on OpenAI")

    hook = run_hook(pod)
    time.sleep(1)
    assert hook.poll() is None  # held while predictions are in flight
    openai.release()
    assert hook.wait(60) == 0
    assert pod.process is not None
    pod.process.send_signal(signal.SIGTERM)  # what the kubelet does once the hook returns
    assert pod.process.wait(30) == 0

    for prediction_id in ids:
        prediction = final(openai, prediction_id, seconds=5)
        assert prediction["status"] == "succeeded", prediction.get("error")
        assert len(prediction["output"]) == 2
    synchronous.join()
    assert answers[0]["status"] == "succeeded"
    assert len(openai.uploads) == 3 * 2 + 1


def test_the_hook_returns_at_once_on_an_idle_pod(pod: CogServer) -> None:
    started = time.monotonic()
    assert run_hook(pod).wait(30) == 0
    assert time.monotonic() - started < 5  # a Python start, and one question


def test_the_hook_waits_for_the_last_outputs_to_be_delivered(
    pod: CogServer, openai: StandIn
) -> None:
    final(openai, start(pod, openai))
    started = time.monotonic()
    assert run_hook(pod).wait(30) == 0
    # The prediction just ended: coglet gets DELIVERY_SECONDS to deliver it.
    assert time.monotonic() - started > DELIVERY_SECONDS / 2


def test_a_full_pod_stays_ready_and_answers_409(openai: StandIn) -> None:
    """At saturation a caller gets coglet's 409 "At capacity" (retry it), not a
    connection refused by a Service with no ready endpoints."""
    server = pod_server(openai, COG_MAX_CONCURRENCY="2").start()
    try:
        openai.hold()
        threads, _ = predict_in_background(server, 2)
        wait_for(lambda: len(openai.requests) == 2, "both slots waiting on OpenAI")
        status = requests.get(f"{server.url}/health-check", timeout=5).json()["status"]
        assert status == "BUSY"
        refused = requests.post(
            f"{server.url}/predictions",
            json={"input": {"openai_api_key": API_KEY, "prompt": "one more"}},
            timeout=10,
        )
        assert refused.status_code == 409
        assert probe("readinessProbe", server) and probe("livenessProbe", server)
        openai.release()
        for thread in threads:
            thread.join()
    finally:
        openai.release()
        server.stop()


def test_probes_ready_and_alive_then_draining_but_alive(pod: CogServer, openai: StandIn) -> None:
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe(kind, pod), kind
    openai.hold()
    threads, _ = predict_in_background(pod, 1)
    wait_for(lambda: len(openai.requests) == 1, "a prediction waiting on OpenAI")
    assert pod.process is not None
    pod.process.send_signal(signal.SIGTERM)  # coglet closes its port and drains
    wait_for(lambda: not probe("readinessProbe", pod), "the pod leaving rotation")
    assert probe("livenessProbe", pod)  # never restarted in the middle of its drain
    openai.release()
    threads[0].join()


def test_a_metrics_port_taken_turns_metrics_off_with_one_line(openai: StandIn) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        server = pod_server(openai, METRICS_PORT=str(taken.getsockname()[1])).start()
        try:
            result = server.predict({"openai_api_key": API_KEY, "prompt": "a lighthouse"})
            assert result["status"] == "succeeded"
        finally:
            server.stop()
    lines = [line for line in server.logs().splitlines() if "METRICS_PORT" in line]
    assert len(lines) == 1 and "Metrics are off: port" in lines[0], lines


def test_a_prediction_is_bounded_as_a_whole(openai: StandIn) -> None:
    """PREDICTION_TIMEOUT bounds every attempt and wait together, not each read."""
    server = pod_server(openai, PREDICTION_TIMEOUT="1").start()
    try:
        openai.hold()
        started = time.monotonic()
        result = server.predict({"openai_api_key": API_KEY, "prompt": "a lighthouse"})
        assert time.monotonic() - started < 10
        assert result["status"] == "failed"
        assert "did not finish within 1 seconds (PREDICTION_TIMEOUT)" in result["error"]
        assert "may still have made and billed" in result["error"]
        assert len(openai.requests) == 1
    finally:
        openai.release()
        server.stop()


def test_before_setup_nothing_answers_the_probes() -> None:
    closed = CogServer(env={"METRICS_PORT": str(free_port())})  # never started
    assert not any(probe(kind, closed) for kind in ("startupProbe", "livenessProbe"))
    closed.stop()
