"""Every OpenAI image model, through the real prediction server: what each one is
sent, what its log says, what it costs, and how a shut-down model fails.

The expectations are written out here from OpenAI's documents (openai-python 3.54
and OpenAI's deprecations page), not read from the package's table, so a wrong
entry in the table fails a test. The stand-in's date is set here; the package's own
warnings use the real date, so only wording common to "shuts down on" and "shut
down on" is checked.
"""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest

from tests.conftest import API_KEY, data_uri
from tests.images import make_image
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

GPT_IMAGE_2 = [
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
]
ENDING_2026_12_01 = ["gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"]
LIVE = GPT_IMAGE_2 + ENDING_2026_12_01
SHUT_DOWN = {
    "gpt-image-1": "OpenAI shut gpt-image-1 down on 2026-10-23. Whoever runs this model can set "
    "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.5-sunburst or gpt-image-2.5-flare.",
    "dall-e-2": "OpenAI shut dall-e-2 down on 2026-05-12. Whoever runs this model can set "
    "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.5-sunburst.",
    "dall-e-3": "OpenAI shut dall-e-3 down on 2026-05-12. Whoever runs this model can set "
    "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.5-sunburst.",
}
UNKNOWN = "gpt-image-3"
# The first dated snapshot of a model that OpenAI publishes after openai-python 3.54.
FUTURE_SNAPSHOT = "gpt-image-2.6-sunburst-2026-12-15"

# USD per million tokens: text in, image in, image out.
PRICES = {
    **dict.fromkeys([*GPT_IMAGE_2, FUTURE_SNAPSHOT], (5.00, 8.00, 30.00)),
    "gpt-image-1.5": (5.00, 8.00, 32.00),
    "gpt-image-1-mini": (2.00, 2.50, 8.00),
}
# What an edit asked for input_fidelity="high" sends, and the note it logs.
HIGH_FIDELITY = {
    **{
        model: (None, f"{model} matches input images at high fidelity on its own")
        for model in GPT_IMAGE_2
    },
    "gpt-image-1.5": ("high", None),
    "gpt-image-1-mini": (None, "gpt-image-1-mini supports input_fidelity 'low' only"),
    "chatgpt-image-latest": (None, "OpenAI documents no input_fidelity for chatgpt-image-latest"),
}
DECEMBER_SUCCESSORS = (
    "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.6-sunburst or gpt-image-2.6-flare."
)


@pytest.fixture(scope="module")
def servers(standin: StandIn) -> Iterator[dict[str, CogServer]]:
    """One prediction server per model (the model is chosen at setup), started side by side."""
    models = [
        *LIVE,
        *SHUT_DOWN,
        UNKNOWN,
        FUTURE_SNAPSHOT,
        "",
    ]  # "": OPENAI_IMAGE_MODEL set but empty
    started: dict[str, CogServer] = {}

    def start(model: str) -> None:
        env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_IMAGE_MODEL": model}
        started[model] = CogServer(env=env)
        started[model].start(timeout=180)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(start, models))
        yield started
    finally:
        for server in started.values():
            server.stop()


def predict(server: CogServer, **inputs: Any) -> dict[str, Any]:
    return server.predict({"openai_api_key": API_KEY, "prompt": "a red fox", **inputs})


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "succeeded", result.get("error")
    return result


def failure_message(result: dict[str, Any]) -> str:
    assert result["status"] == "failed", result
    assert API_KEY not in json.dumps(result)
    return result["error"].rsplit("PredictionError: ", 1)[-1]


def log_lines(result: dict[str, Any], start: str) -> list[str]:
    return [line for line in result["logs"].splitlines() if line.startswith(start)]


def expected_cost(model: str, metrics: dict[str, int]) -> str:
    """A generation has no image input, so its input tokens are all text."""
    text, _, out = PRICES[model]
    cost = (metrics["token_input_count"] * text + metrics["token_output_count"] * out) / 1e6
    return f"Estimated cost: ${cost:.4f} on your OpenAI account ({model} per million tokens:"


@pytest.mark.parametrize("model", LIVE)
def test_generation(servers: dict[str, CogServer], openai: StandIn, model: str) -> None:
    result = succeeded(predict(servers[model], user_id="customer-7", quality="low"))
    (request,) = openai.requests
    assert request.json["model"] == model
    assert request.json["safety_identifier"] == "customer-7"
    assert "user" not in request.json
    assert f"Model: {model} (set by OPENAI_IMAGE_MODEL)." in result["logs"]
    (cost,) = log_lines(result, "Estimated cost: ") or ["(no cost line)"]
    if model in PRICES:
        assert cost.startswith(expected_cost(model, result["metrics"]))
    else:
        assert log_lines(result, f"No price is known here for {model}")


@pytest.mark.parametrize("model", LIVE)
def test_edit_with_high_input_fidelity(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    image = data_uri(make_image("PNG"), "image/png")
    result = succeeded(
        predict(servers[model], input_images=[image], input_fidelity="high", user_id="u-1")
    )
    (request,) = openai.requests
    sent, note = HIGH_FIDELITY[model]
    assert request.form["model"] == model
    assert request.form.get("input_fidelity") == sent
    assert request.form["safety_identifier"] == "u-1"
    assert f"Model: {model} (set by OPENAI_IMAGE_MODEL)." in result["logs"]
    if note is not None:
        assert len(log_lines(result, note)) == 1


@pytest.mark.parametrize("model", GPT_IMAGE_2)
def test_models_without_a_shutdown_log_no_warning(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    assert log_lines(succeeded(predict(servers[model])), "Warning:") == []


@pytest.mark.parametrize("model", ENDING_2026_12_01)
def test_announced_shutdown_is_a_warning(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    (warning,) = log_lines(succeeded(predict(servers[model])), "Warning: OpenAI shut")
    assert f" {model} down on 2026-12-01" in warning
    assert warning.endswith(DECEMBER_SUCCESSORS)


@pytest.mark.parametrize("model", ENDING_2026_12_01)
def test_after_the_shutdown_the_404_names_the_successors(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    openai.today = date(2026, 12, 2)
    message = failure_message(predict(servers[model]))
    assert message.startswith("OpenAI ") and f" {model} " in message and "2026-12-01" in message
    assert message.endswith(DECEMBER_SUCCESSORS)
    assert len(openai.requests) == 1  # sent: the package does not refuse by date


@pytest.mark.parametrize("model", list(SHUT_DOWN))
def test_shut_down_model_fails_naming_its_successors(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    assert failure_message(predict(servers[model])) == SHUT_DOWN[model]
    assert len(openai.requests) == 1
    logs = servers[model].logs()
    assert f"Warning: OpenAI shut {model} down on " in logs


def test_unknown_model_is_sent_as_named(servers: dict[str, CogServer], openai: StandIn) -> None:
    image = data_uri(make_image("PNG"), "image/png")
    message = failure_message(
        predict(servers[UNKNOWN], input_images=[image], input_fidelity="high")
    )
    assert message == (
        f"OpenAI has no model {UNKNOWN} for this key: the name is wrong or your account lacks "
        "access. Whoever runs this model can choose another with OPENAI_IMAGE_MODEL."
    )
    (request,) = openai.requests
    assert request.form["model"] == UNKNOWN
    assert request.form["input_fidelity"] == "high"  # no rules known: sent as asked
    assert (
        f"{UNKNOWN} is not a model this package knows: it is sent as named, with "
        "input_fidelity only if you ask for 'high', and no prices are known for it."
        in servers[UNKNOWN].logs()
    )


def test_unknown_model_gets_no_input_fidelity_unless_high(
    servers: dict[str, CogServer], openai: StandIn
) -> None:
    """'low' is what leaving input_fidelity out means; the GPT Image 2 line refuses the
    parameter, so a model nobody knows yet is not sent it unless 'high' was asked."""
    openai.published_later.add(UNKNOWN)
    image = data_uri(make_image("PNG"), "image/png")
    result = succeeded(predict(servers[UNKNOWN], input_images=[image]))
    (request,) = openai.requests
    assert "input_fidelity" not in request.form
    assert "input_fidelity" not in result["logs"].replace("input_fidelity only if", "")
    assert log_lines(result, f"No price is known here for {UNKNOWN}")


@pytest.mark.parametrize("model", [*GPT_IMAGE_2, FUTURE_SNAPSHOT])
def test_default_edit_sends_and_says_nothing_of_input_fidelity(
    servers: dict[str, CogServer], openai: StandIn, model: str
) -> None:
    """The caller left input_fidelity at its default: nothing to adapt, nothing to say."""
    openai.published_later.add(FUTURE_SNAPSHOT)
    image = data_uri(make_image("PNG"), "image/png")
    result = succeeded(predict(servers[model], input_images=[image]))
    (request,) = openai.requests
    assert "input_fidelity" not in request.form
    assert "input_fidelity" not in result["logs"]


def test_future_snapshot_takes_its_models_rules_prices_and_lifecycle(
    servers: dict[str, CogServer], openai: StandIn
) -> None:
    openai.published_later.add(FUTURE_SNAPSHOT)
    image = data_uri(make_image("PNG"), "image/png")
    result = succeeded(predict(servers[FUTURE_SNAPSHOT], input_images=[image], quality="low"))
    assert openai.requests[0].form["model"] == FUTURE_SNAPSHOT
    assert log_lines(result, f"{FUTURE_SNAPSHOT} is a dated snapshot of gpt-image-2.6-sunburst")
    (cost,) = log_lines(result, "Estimated cost: ")
    assert f"({FUTURE_SNAPSHOT} per million tokens: $5.00 text in, $8.00 image in" in cost


def test_empty_setting_means_the_default(servers: dict[str, CogServer], openai: StandIn) -> None:
    result = succeeded(predict(servers[""]))
    assert openai.requests[0].json["model"] == "gpt-image-2.5-sunburst"
    assert "Model: gpt-image-2.5-sunburst (the default)." in result["logs"]
