"""The GPT Image 2.5 builds through the real prediction server: each sends its own
model, xhigh and max reach OpenAI and are priced from what it reports, and on a model
that cannot make them they are refused before any request.

The models, prices and messages are written out here (openai-python 3.54's `quality`
docstrings; $5 / $8 / $30 per million tokens), not read from the package's tables.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import API_KEY, data_uri
from tests.images import make_image
from tests.test_gpt_image_2 import NO_KEY, SIZES, failed_with, predict, succeeded
from tools.cog_schema import GPT_IMAGE_2_5_CONFIGS
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

MODELS = {
    "cog.gpt-image-2.5-sunburst.yaml": "gpt-image-2.5-sunburst",
    "cog.gpt-image-2.5-flare.yaml": "gpt-image-2.5-flare",
}
TEXT_IN, IMAGE_IN, OUT = 5.00, 8.00, 30.00  # USD per million tokens


@pytest.fixture(scope="module")
def on_gpt_image_2(standin: StandIn) -> Iterator[CogServer]:
    """A GPT Image 2.5 build whose operator set OPENAI_IMAGE_MODEL to gpt-image-2."""
    env = {
        "OPENAI_BASE_URL": standin.base_url,
        "OPENAI_API_KEY": "",
        "OPENAI_IMAGE_MODEL": "gpt-image-2",
    }
    server = CogServer(env=env, config=GPT_IMAGE_2_5_CONFIGS[0]).start()
    yield server
    server.stop()


def sent(openai: StandIn) -> dict[str, Any]:
    (request,) = openai.requests
    return request.params


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_the_top_tiers_reach_openai_and_are_priced(
    gpt_image_2_5_server: CogServer, openai: StandIn, quality: str
) -> None:
    model = MODELS[gpt_image_2_5_server.config]
    result = succeeded(predict(gpt_image_2_5_server, openai_api_key=API_KEY, quality=quality))
    assert (sent(openai)["model"], sent(openai)["quality"]) == (model, quality)
    logs = result["logs"]
    assert f"Model: {model} (set by OPENAI_IMAGE_MODEL)." in logs
    assert f"OpenAI made 1 image (1024x1024, {quality}, webp)." in logs
    text_in = result["metrics"]["token_input_count"]  # a generation: text only
    out = result["metrics"]["token_output_count"]
    cost = (text_in * TEXT_IN + out * OUT) / 1_000_000
    assert f"Estimated cost: ${cost:.4f} on your OpenAI account ({model} per million" in logs


@pytest.mark.parametrize("moderation", ["auto", "low"])  # multipart, JSON
def test_an_edit_at_max(gpt_image_2_5_server: CogServer, openai: StandIn, moderation: str) -> None:
    image = data_uri(make_image("PNG"), "image/png")
    succeeded(
        predict(
            gpt_image_2_5_server,
            openai_api_key=API_KEY,
            input_images=[image],
            quality="max",
            moderation=moderation,
        )
    )
    assert sent(openai)["quality"] == "max"
    assert "input_fidelity" not in sent(openai)


@pytest.mark.parametrize("aspect_ratio", ["16:9", "auto", "3840x2160"])
def test_gpt_image_2s_sizes(
    gpt_image_2_5_server: CogServer, openai: StandIn, aspect_ratio: str
) -> None:
    succeeded(predict(gpt_image_2_5_server, openai_api_key=API_KEY, aspect_ratio=aspect_ratio))
    assert sent(openai)["size"] == SIZES[aspect_ratio]


def test_no_key_and_none_on_the_server_costs_nothing(
    gpt_image_2_5_server: CogServer, openai: StandIn
) -> None:
    failed_with(predict(gpt_image_2_5_server), NO_KEY)
    assert openai.requests == []


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_another_model_refuses_them_before_paying(
    on_gpt_image_2: CogServer, openai: StandIn, quality: str
) -> None:
    failed_with(
        predict(on_gpt_image_2, openai_api_key=API_KEY, quality=quality),
        f"Quality {quality} is made only by gpt-image-2.5-sunburst or gpt-image-2.5-flare, "
        "not gpt-image-2: set OPENAI_IMAGE_MODEL to one of them, or ask for quality high.",
    )
    assert openai.requests == []


def test_high_on_that_model_goes(on_gpt_image_2: CogServer, openai: StandIn) -> None:
    succeeded(predict(on_gpt_image_2, openai_api_key=API_KEY, quality="high"))
    assert (sent(openai)["model"], sent(openai)["quality"]) == ("gpt-image-2", "high")
