"""Graceful stop through the real prediction server, as Kubernetes stops a pod: SIGTERM
to the server, then, after terminationGracePeriodSeconds, SIGKILL to whatever is left.

The stand-in holds every request until released, so predictions are known to be in
flight when the signal comes, and nothing here depends on how fast the machine is.
"""

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import API_KEY, wait_for
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

# Long enough for a released prediction to finish on a loaded machine; the manifests'
# own grace period is far longer (deploy/kubernetes/base/deployment.yaml).
GRACE_SECONDS = 30


@pytest.fixture
def held(openai: StandIn) -> Iterator[StandIn]:
    openai.hold()
    yield openai
    openai.release()


@pytest.fixture
def own_server(held: StandIn) -> Iterator[CogServer]:
    """A server of this test's own: the test stops it."""
    cog = CogServer(env={"OPENAI_BASE_URL": held.base_url}).start()
    yield cog
    cog.stop()


def predict_in_background(server: CogServer, count: int) -> tuple[list[threading.Thread], list]:
    """Start `count` synchronous predictions; each thread appends its answer (a dict) or
    the exception the client raised."""
    answers: list[Any] = []

    def predict(index: int) -> None:
        try:  # as any cog client does, retrying a 409 (slot not idle yet)
            inputs = {"openai_api_key": API_KEY, "prompt": f"a lighthouse {index}"}
            answers.append(server.predict(inputs, timeout=120))
        except requests.RequestException as error:
            answers.append(error)

    threads = [threading.Thread(target=predict, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    return threads, answers


def refuses_connections(server: CogServer) -> bool:
    try:
        requests.get(f"{server.url}/health-check", timeout=5)
    except requests.ConnectionError:
        return True
    return False


def test_sigterm_lets_predictions_in_flight_finish_and_refuses_new_ones(
    held: StandIn, own_server: CogServer
) -> None:
    server = own_server
    threads, answers = predict_in_background(server, 3)
    wait_for(lambda: len(held.requests) == 3, "three predictions waiting on OpenAI", seconds=30)
    assert server.process is not None

    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: refuses_connections(server), "the server closing its port", seconds=30)
    with pytest.raises(requests.ConnectionError):  # a new prediction is refused
        requests.post(
            f"{server.url}/predictions",
            json={"input": {"openai_api_key": API_KEY, "prompt": "too late"}},
            timeout=10,
        )
    assert server.process.poll() is None  # still serving the three it has
    assert len(held.requests) == 3  # the refused one never reached OpenAI

    held.release()
    for thread in threads:
        thread.join()
    assert [answer["status"] for answer in answers] == ["succeeded"] * 3, answers
    assert all(answer["output"] for answer in answers)
    assert server.process.wait(GRACE_SECONDS) == 0  # on its own, before the grace period


def test_a_prediction_stuck_past_the_grace_period_ends_in_a_dropped_connection(
    held: StandIn, own_server: CogServer
) -> None:
    server = own_server
    threads, answers = predict_in_background(server, 1)
    wait_for(lambda: len(held.requests) == 1, "the prediction waiting on OpenAI", seconds=30)
    assert server.process is not None
    worker = server.worker_pid()

    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: refuses_connections(server), "the server closing its port", seconds=30)
    time.sleep(2)  # a short "grace period": the held prediction cannot finish in it
    assert server.process.poll() is None  # coglet waits for it, however long

    # The grace period is over: Kubernetes kills every process in the container.
    for pid in (server.process.pid, worker):
        with contextlib.suppress(ProcessLookupError):  # the worker may go by itself
            os.kill(pid, signal.SIGKILL)
    server.process.wait()
    threads[0].join()
    # The caller gets no answer at all: the connection closes without a response.
    assert isinstance(answers[0], requests.ConnectionError), answers
