"""OpenAI's answer as it may really arrive, through the real prediction server:
broken off and sent again, with trimmed or richer usage, cancelled halfway."""

import threading
from typing import Any

import pytest
import requests

from tests.conftest import API_KEY, wait_for
from tools.cog_server import CogServer
from tools.openai_standin import TEXT_OUTPUT_TOKENS, StandIn

# What the default model costs, USD per million tokens: text in and image out. OpenAI
# publishes no text-out price for the GPT Image 2 line: it counts at the image price.
TEXT_IN, IMAGE_OUT = 5.00, 30.00
# Traces of an exception nobody handled, which a cancellation must not leave.
UNHANDLED = ("Traceback", "never retrieved", "aclose()", "Exception ignored")


def predict(server: CogServer, prompt: str, **inputs: Any) -> dict[str, Any]:
    return server.predict({"openai_api_key": API_KEY, "prompt": prompt, **inputs})


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "succeeded", result.get("error")
    return result


def lines_with(result: dict[str, Any], text: str) -> list[str]:
    return [line for line in result["logs"].splitlines() if text in line]


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        ("cut-early-once", "OpenAI's answer broke off (the connection was lost or too slow)"),
        ("garbled-early-once", "OpenAI answered with broken JSON"),
    ],
)
def test_answer_broken_before_its_first_image_is_sent_again(
    server: CogServer, openai: StandIn, fault: str, what: str
) -> None:
    result = succeeded(predict(server, f"a fox [fault:{fault}]"))
    assert len(openai.requests) == 2
    assert len(result["output"]) == 1
    assert lines_with(result, "sending the request again") == [
        f"{what} before its first image; sending the request again. OpenAI may have billed "
        "the broken attempt."
    ]


def test_trimmed_usage_never_fails_a_prediction(server: CogServer, openai: StandIn) -> None:
    """A gateway left out input_tokens and input_tokens_details.text_tokens."""
    prompt = "a fox [fault:usage-trimmed]"
    result = succeeded(predict(server, prompt, quality="medium"))
    assert len(result["output"]) == 1
    total = 1056 + len(prompt) // 4  # the stand-in counts a text token per 4 characters
    assert lines_with(result, "Tokens:") == [f"Tokens: 1056 out ({total} in all)."]
    assert lines_with(result, "the cost could not be estimated") == [
        "OpenAI's answer did not report every token count (a gateway may trim it), so the "
        "cost could not be estimated."
    ]
    assert "token_input_count" not in result["metrics"]
    assert result["metrics"]["token_output_count"] == 1056


@pytest.mark.parametrize("fault", ["text-out", "text-out-total-trimmed"])
def test_text_output_tokens_are_priced_at_the_image_rate_where_none_is_published(
    server: CogServer, openai: StandIn, fault: str
) -> None:
    """Also when a gateway trimmed output_tokens but kept its split."""
    prompt = f"a fox [fault:{fault}]"
    result = succeeded(predict(server, prompt, quality="medium"))
    text_in = len(prompt) // 4
    image_out = 1056
    (tokens,) = lines_with(result, "Tokens:")
    assert tokens.startswith(
        f"Tokens: {text_in} text in, 0 image in, {image_out} image out, "
        f"{TEXT_OUTPUT_TOKENS} text out"
    )
    cost = (text_in * TEXT_IN + (image_out + TEXT_OUTPUT_TOKENS) * IMAGE_OUT) / 1e6
    (estimate,) = lines_with(result, "Estimated cost:")
    assert estimate.startswith(f"Estimated cost: ${cost:.4f} on your OpenAI account")
    assert estimate.endswith(
        "$30.00 image out, text out at the image price, since none is published)."
    )
    assert result["metrics"]["token_output_count"] == image_out + TEXT_OUTPUT_TOKENS


def test_cancel_mid_answer_leaves_no_traceback_and_no_file(
    server: CogServer, openai: StandIn
) -> None:
    """The first image is written, the rest of the answer is still on its way."""
    outputs_before = output_files(server)
    result: dict[str, Any] = {}

    def run() -> None:
        response = requests.post(
            f"{server.url}/predictions",
            json={
                "id": "cancel-mid-answer",
                "input": {
                    "openai_api_key": API_KEY,
                    "prompt": "a fox [fault:stall-mid]",
                    "number_of_images": 2,
                },
            },
            timeout=90,
        )
        result.update(response.json())

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: bool(openai.requests) and openai.requests[0].stalled)
    cancel = requests.post(f"{server.url}/predictions/cancel-mid-answer/cancel", timeout=30)
    assert cancel.status_code == 200
    thread.join(90)
    assert result["status"] == "canceled"
    wait_for(lambda: openai.requests[0].client_disconnected)
    succeeded(predict(server, "the next one"))  # and the server goes on
    logs = server.logs()
    start = logs.index("cancel-mid-answer")
    assert not [trace for trace in UNHANDLED if trace in logs[start:]]
    assert output_files(server) == outputs_before | new_outputs(server, outputs_before)


def output_files(server: CogServer) -> set[str]:
    """Every file in the prediction outputs the worker keeps."""
    return {str(path) for path in server.tmp.glob("gpt-image-outputs-*/*/*")}


def new_outputs(server: CogServer, before: set[str]) -> set[str]:
    """The files of the one prediction made after the cancelled one: an image."""
    new = output_files(server) - before
    assert [path.rsplit("/", 1)[1] for path in new] == ["output_0.webp"], new
    return new
