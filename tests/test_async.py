"""Asynchronous predictions, as Replicate drives a model's container: `Prefer:
respond-async`, a webhook for the result and `--upload-url` for the outputs, through
the real prediction server. The stand-in plays OpenAI, Replicate's file store and
the caller's webhook receiver.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import API_KEY, data_uri, wait_for
from tests.images import noise_png
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

TERMINAL = {"succeeded", "failed", "canceled"}


@pytest.fixture(scope="module")
def replicate_style(standin: StandIn) -> Iterator[CogServer]:
    """The prediction server as Replicate runs it: outputs PUT to an upload endpoint."""
    server = CogServer(
        env={"OPENAI_BASE_URL": standin.base_url}, upload_url=uploads_url(standin)
    ).start()
    yield server
    server.stop()


def uploads_url(standin: StandIn) -> str:
    return standin.base_url.removesuffix("/v1") + "/uploads/"


def start(server: CogServer, standin: StandIn, **inputs: Any) -> str:
    """Create an asynchronous prediction; its id."""
    prediction_id = uuid.uuid4().hex
    body = {
        "input": {"openai_api_key": API_KEY, "prompt": "a lighthouse", **inputs},
        "webhook": standin.base_url.removesuffix("/v1") + "/webhooks",
    }
    answer = requests.put(
        f"{server.url}/predictions/{prediction_id}",
        json=body,
        headers={"Prefer": "respond-async"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    return prediction_id


def cancel(server: CogServer, prediction_id: str) -> int:
    return requests.post(f"{server.url}/predictions/{prediction_id}/cancel", timeout=10).status_code


def ended(standin: StandIn, prediction_id: str) -> dict[str, Any] | None:
    """The prediction as its final webhook reported it, once it came."""
    for hook in list(standin.webhooks):
        if hook.get("id") == prediction_id and hook.get("status") in TERMINAL:
            return hook
    return None


def final(standin: StandIn, prediction_id: str, seconds: float = 60) -> dict[str, Any]:
    """The prediction as its final webhook reported it."""
    wait_for(lambda: ended(standin, prediction_id), f"the webhook ending {prediction_id}", seconds)
    result = ended(standin, prediction_id)
    assert result is not None
    return result


def test_a_generation_uploads_each_image_and_ends_by_webhook(
    replicate_style: CogServer, openai: StandIn
) -> None:
    prediction = final(openai, start(replicate_style, openai, number_of_images=3))
    assert prediction["status"] == "succeeded", prediction.get("error")
    assert len(openai.requests) == 1  # OpenAI was asked once
    assert openai.requests[0].path == "/v1/images/generations"
    uploaded = sorted(upload.filename for upload in openai.uploads)
    assert uploaded == ["output_0.webp", "output_1.webp", "output_2.webp"]
    # The output is the file store's own URLs, one per image.
    assert len(prediction["output"]) == 3
    assert all("/files/" in url for url in prediction["output"])
    assert prediction["metrics"]["image_output_count"] == 3
    assert "Tokens: " in prediction["logs"] and "Estimated cost: $" in prediction["logs"]
    assert API_KEY not in str(prediction)


def test_an_edit_uploads_its_image_and_ends_by_webhook(
    replicate_style: CogServer, openai: StandIn
) -> None:
    image = data_uri(noise_png(64), "image/png")
    prediction = final(openai, start(replicate_style, openai, input_images=[image]))
    assert prediction["status"] == "succeeded", prediction.get("error")
    assert [request.path for request in openai.requests] == ["/v1/images/edits"]
    assert [upload.filename for upload in openai.uploads] == ["output_0.webp"]
    assert "Tokens: " in prediction["logs"] and "Estimated cost: $" in prediction["logs"]


def test_a_cancel_mid_answer_ends_it_within_seconds(
    replicate_style: CogServer, openai: StandIn
) -> None:
    prediction_id = start(replicate_style, openai, prompt="a fox [fault:stall-mid]")
    wait_for(lambda: bool(openai.requests) and openai.requests[0].stalled, "the answer stalling")
    asked = time.monotonic()
    assert cancel(replicate_style, prediction_id) == 200
    prediction = final(openai, prediction_id, seconds=10)
    assert prediction["status"] == "canceled"
    assert time.monotonic() - asked < 5
    wait_for(lambda: openai.requests[0].client_disconnected, "the request to OpenAI dropped")
    assert openai.uploads == []  # nothing of a canceled prediction is delivered


def test_a_cancel_right_after_creation_ends_it_when_repeated(
    replicate_style: CogServer, openai: StandIn
) -> None:
    """coglet 0.23.1 drops a cancel that reaches the worker before the prediction has
    started there (crates/coglet-python/src/worker_bridge.rs, `cancel` on an idle
    slot): the prediction then runs, OpenAI makes and bills the images, and coglet
    reports it canceled. A caller that repeats its cancel until the final webhook
    comes stops it: the repeat finds the prediction running, and its request to
    OpenAI is dropped. A cancel that lands while coglet hands the prediction to the
    event loop ends it as failed ("Failed to submit coroutine: CancelationException");
    then the prediction may run on unseen (docs/kubernetes.md), which no cancel reaches."""
    openai.hold()  # OpenAI never answers here: only a cancel ends a prediction
    canceled = []
    for number in range(10):
        key = f"sk-test-cancel-{number}-0123456789abcdef"  # tells its requests apart
        prediction_id = start(replicate_style, openai, openai_api_key=key)
        asked = time.monotonic()
        assert cancel(replicate_style, prediction_id) == 200
        while not ended(openai, prediction_id):
            assert time.monotonic() - asked < 10, "a repeated cancel was missed"
            time.sleep(0.25)
            cancel(replicate_style, prediction_id)
        prediction = final(openai, prediction_id)
        if prediction["status"] == "canceled":
            canceled.append(f"Bearer {key}")
        else:
            assert "CancelationException" in prediction["error"], prediction["error"]
    # What reached OpenAI of a canceled prediction was dropped there.
    wait_for(
        lambda: all(
            request.client_disconnected
            for request in openai.requests
            if request.headers["authorization"] in canceled
        ),
        "every canceled prediction's request dropped",
        seconds=10,
    )
    assert openai.uploads == []
