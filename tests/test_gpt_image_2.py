"""The gpt-image-2 build through the real prediction server: every size it offers
reaches the stand-in as one OpenAI accepts, a size the model cannot make and a
missing key cost nothing, and whose key pays.

The expected sizes are written out here from openai-python 3.54's `size` docstrings
(and, for 16:9 and 9:16, the README's choice), not read from the package's tables.
"""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from tests.conftest import API_KEY, data_uri, decode_data_uri
from tests.images import make_image
from tools.cog_schema import GPT_IMAGE_2_CONFIG
from tools.cog_server import CogServer
from tools.openai_standin import StandIn

OPERATOR_KEY = "sk-operator-0123456789abcdefOPS"
SIZES = {
    "1:1": "1024x1024",
    "3:2": "1536x1024",
    "2:3": "1024x1536",
    "16:9": "1536x864",
    "9:16": "864x1536",
    "auto": "auto",
    **{
        size: size
        for size in (
            "1024x1024",
            "1536x1024",
            "1024x1536",
            "2048x2048",
            "2048x1152",
            "1152x2048",
            "3840x2160",
            "2160x3840",
        )
    },
}
# More pixels, or a longer side, than 2560x1440: "experimental" in openai-python 3.54.
EXPERIMENTAL = {"2048x2048", "3840x2160", "2160x3840"}
NO_KEY = (
    "No OpenAI API key: pass openai_api_key, since this server has no key of its own "
    "(OPENAI_API_KEY) to pay with."
)


def start(standin: StandIn, **env: str) -> CogServer:
    env = {"OPENAI_BASE_URL": standin.base_url, "OPENAI_API_KEY": "", **env}
    return CogServer(env=env, config=GPT_IMAGE_2_CONFIG).start()


@pytest.fixture(scope="module")
def operator_server(standin: StandIn) -> Iterator[CogServer]:
    """A gpt-image-2 server whose operator set a key of their own."""
    server = start(standin, OPENAI_API_KEY=OPERATOR_KEY)
    yield server
    server.stop()
    assert OPERATOR_KEY not in server.logs()


@pytest.fixture(scope="module")
def sunburst_2_6(standin: StandIn) -> Iterator[CogServer]:
    """A gpt-image-2 server in front of a model that takes only the standard sizes."""
    server = start(standin, OPENAI_IMAGE_MODEL="gpt-image-2.6-sunburst")
    yield server
    server.stop()


def predict(server: CogServer, **inputs: Any) -> dict[str, Any]:
    return server.predict({"prompt": "a red fox", **inputs})


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    assert result["status"] == "succeeded", result.get("error")
    return result


def failed_with(result: dict[str, Any], message: str) -> None:
    assert result["status"] == "failed"
    assert result["error"].endswith(f"PredictionError: {message}")


@pytest.mark.parametrize("aspect_ratio", list(SIZES))
def test_every_size_reaches_openai_as_one_it_accepts(
    gpt_image_2_server: CogServer, openai: StandIn, aspect_ratio: str
) -> None:
    result = succeeded(
        predict(gpt_image_2_server, openai_api_key=API_KEY, aspect_ratio=aspect_ratio)
    )
    (request,) = openai.requests
    assert request.json is not None
    assert (request.json["model"], request.json["size"]) == ("gpt-image-2", SIZES[aspect_ratio])
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    said = "is above 2560x1440, which OpenAI calls experimental" in result["logs"]
    assert said == (SIZES[aspect_ratio] in EXPERIMENTAL)
    assert "Model: gpt-image-2 (set by OPENAI_IMAGE_MODEL)." in result["logs"]


@pytest.mark.parametrize(
    ("moderation", "form"), [("auto", "multipart/form-data"), ("low", "application/json")]
)
def test_an_edit_in_either_form(
    gpt_image_2_server: CogServer, openai: StandIn, moderation: str, form: str
) -> None:
    image = data_uri(make_image("PNG"), "image/png")
    succeeded(
        predict(
            gpt_image_2_server,
            openai_api_key=API_KEY,
            input_images=[image],
            aspect_ratio="16:9",
            moderation=moderation,
        )
    )
    (request,) = openai.requests
    assert request.path == "/v1/images/edits"
    assert request.headers["content-type"].startswith(form)
    assert request.params["size"] == "1536x864"
    assert "input_fidelity" not in request.params


def test_transparent_png_says_the_support_is_a_preview(
    gpt_image_2_server: CogServer, openai: StandIn
) -> None:
    result = succeeded(
        predict(
            gpt_image_2_server,
            openai_api_key=API_KEY,
            background="transparent",
            output_format="png",
        )
    )
    (request,) = openai.requests
    assert request.json is not None
    assert (request.json["background"], request.json["output_format"]) == ("transparent", "png")
    assert "Transparent backgrounds are in preview on gpt-image-2" in result["logs"]
    mime, data = decode_data_uri(result["output"][0])
    assert mime == "image/png" and Image.open(io.BytesIO(data)).mode == "RGBA"


@pytest.mark.parametrize(
    ("aspect_ratio", "asked"),
    [("3840x2160", "3840x2160"), ("16:9", "aspect_ratio 16:9 (1536x864)")],
)
def test_a_size_the_model_cannot_make_costs_nothing(
    sunburst_2_6: CogServer, openai: StandIn, aspect_ratio: str, asked: str
) -> None:
    result = predict(sunburst_2_6, openai_api_key=API_KEY, aspect_ratio=aspect_ratio)
    failed_with(
        result,
        f"gpt-image-2.6-sunburst makes only 1024x1024, 1536x1024, 1024x1536 and auto, not "
        f"{asked}: set OPENAI_IMAGE_MODEL to gpt-image-2, gpt-image-2.5-sunburst or "
        "gpt-image-2.5-flare, which can.",
    )
    assert openai.requests == []


def test_a_standard_size_on_that_model_goes(sunburst_2_6: CogServer, openai: StandIn) -> None:
    succeeded(predict(sunburst_2_6, openai_api_key=API_KEY, aspect_ratio="3:2"))
    (request,) = openai.requests
    assert request.json is not None and request.json["size"] == "1536x1024"


@pytest.mark.parametrize("key", [None, "", "  "])
def test_no_key_and_none_on_the_server_costs_nothing(
    gpt_image_2_server: CogServer, openai: StandIn, key: str | None
) -> None:
    inputs = {} if key is None else {"openai_api_key": key}
    failed_with(predict(gpt_image_2_server, **inputs), NO_KEY)
    assert openai.requests == []


def test_without_a_key_the_operators_pays(operator_server: CogServer, openai: StandIn) -> None:
    result = succeeded(predict(operator_server))
    (request,) = openai.requests
    assert request.headers["authorization"] == f"Bearer {OPERATOR_KEY}"
    assert (
        "No openai_api_key was given, so this server's own key (OPENAI_API_KEY) pays for this "
        "prediction." in result["logs"]
    )


def test_the_callers_key_wins_over_the_operators(
    operator_server: CogServer, openai: StandIn
) -> None:
    result = succeeded(predict(operator_server, openai_api_key=API_KEY))
    (request,) = openai.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "this server's own key" not in result["logs"]


def test_a_rejected_operator_key_is_said_as_such(standin: StandIn) -> None:
    standin.reset()
    server = start(standin, OPENAI_API_KEY="sk-invalid-operator-0123456789")
    try:
        result = predict(server)
    finally:
        server.stop()
    failed_with(  # the stand-in is not at OpenAI's address, so it reads as a gateway
        result,
        f"The gateway at {standin.base_url}/ rejected this server's own key (401): pass your "
        "own openai_api_key, or ask the server's operator to fix OPENAI_API_KEY.",
    )
    assert "sk-invalid-operator" not in server.logs() + result["error"]


def test_an_operator_key_that_cannot_be_one_stops_setup(standin: StandIn) -> None:
    with pytest.raises(RuntimeError) as stopped:
        start(standin, OPENAI_API_KEY="sk-op with spaces 0123456789")
    assert (
        "OPENAI_API_KEY is set but cannot be an API key: set it to the whole key, or remove it."
        in str(stopped.value)
    )
    assert "with spaces" not in str(stopped.value)
