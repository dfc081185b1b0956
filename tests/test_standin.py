"""The stand-in is as strict as OpenAI: wrong requests from the real SDK fail."""

import base64
from datetime import date
from typing import Any

import openai as sdk
import pytest
from openai.types import ImagesResponse

from tests.conftest import API_KEY
from tests.images import make_image
from tests.sdk_docstrings import PARAMS_MODULES, models_with_top_qualities
from tools.openai_standin import TOP_QUALITY_MODELS, StandIn


@pytest.fixture
def client(openai: StandIn) -> sdk.OpenAI:
    """The real SDK, pointed at the stand-in, without retries."""
    return sdk.OpenAI(api_key=API_KEY, base_url=openai.base_url, max_retries=0)


PNG = ("image.png", make_image("PNG"), "image/png")
LIVE_MODEL = "gpt-image-2"

WRONG_GENERATIONS: dict[str, tuple[dict[str, Any], str, str]] = {
    "compression with png": (
        {"output_format": "png", "output_compression": 50},
        "output_compression",
        "invalid_value",
    ),
    "transparent jpeg": (
        {"background": "transparent", "output_format": "jpeg"},
        "background",
        "invalid_value",
    ),
    "input_fidelity on a generation": (
        {"input_fidelity": "high"},
        "input_fidelity",
        "unknown_parameter",
    ),
    "response_format": ({"response_format": "url"}, "response_format", "unknown_parameter"),
    "too many images": ({"n": 11}, "n", "integer_above_max_value"),
    "unknown size": ({"size": "800x600"}, "size", "invalid_value"),
    "unknown quality": ({"quality": "hd"}, "quality", "invalid_value"),
    "empty prompt": ({"prompt": ""}, "prompt", "empty_string"),
    "prompt too long": ({"prompt": "x" * 32_001}, "prompt", "string_above_max_length"),
    "no model": ({"model": None}, "model", "missing_required_parameter"),
}


@pytest.mark.parametrize("case", list(WRONG_GENERATIONS))
def test_wrong_generations_are_refused(client: sdk.OpenAI, case: str) -> None:
    params, param, code = WRONG_GENERATIONS[case]
    request = {"model": LIVE_MODEL, "prompt": "p", **params}
    body = {name: value for name, value in request.items() if value is not None}
    with pytest.raises(sdk.BadRequestError) as refused:
        client.post("/images/generations", body=body, cast_to=ImagesResponse)
    assert (refused.value.param, refused.value.code) == (param, code)


def test_a_good_generation_gets_real_images_and_usage(client: sdk.OpenAI) -> None:
    response = client.images.generate(model=LIVE_MODEL, prompt="p", n=2, output_format="jpeg")
    assert len(response.data or []) == 2
    assert response.usage is not None and response.usage.output_tokens == 2 * 1056
    assert response.output_format == "jpeg" and response.size == "1024x1024"


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (b"\x89PNG...", "unsupported_file_mimetype"),  # bare bytes: no name, no type
        (("image.png", make_image("PNG"), "application/octet-stream"), "unsupported_file_mimetype"),
        (("image.jpg", make_image("PNG"), "image/jpeg"), "invalid_image_file"),  # type lies
        (("image.png", b"not a png", "image/png"), "invalid_image_file"),
    ],
)
def test_wrong_edit_uploads_are_refused(client: sdk.OpenAI, image: Any, code: str) -> None:
    with pytest.raises(sdk.BadRequestError) as refused:
        client.images.edit(model=LIVE_MODEL, prompt="p", image=[image])
    assert refused.value.code == code


def test_multipart_edits_have_no_moderation_field(client: sdk.OpenAI) -> None:
    with pytest.raises(sdk.BadRequestError) as refused:
        client.images.edit(
            model=LIVE_MODEL, prompt="p", image=[PNG], extra_body={"moderation": "low"}
        )
    assert (refused.value.param, refused.value.code) == ("moderation", "unknown_parameter")


def test_mini_refuses_high_input_fidelity(client: sdk.OpenAI) -> None:
    with pytest.raises(sdk.BadRequestError) as refused:
        client.images.edit(model="gpt-image-1-mini", prompt="p", image=[PNG], input_fidelity="high")
    assert refused.value.param == "input_fidelity"


def test_wrong_key_and_unknown_model(client: sdk.OpenAI, openai: StandIn) -> None:
    wrong = sdk.OpenAI(api_key="sk-invalid-000000000", base_url=openai.base_url, max_retries=0)
    with pytest.raises(sdk.AuthenticationError):
        wrong.images.generate(model=LIVE_MODEL, prompt="p")
    with pytest.raises(sdk.NotFoundError) as missing:
        client.images.generate(model="gpt-image-0", prompt="p")
    assert missing.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("model", "today", "served"),
    [
        ("gpt-image-1", date(2026, 10, 22), True),
        ("gpt-image-1", date(2026, 10, 23), False),
        ("gpt-image-1.5", date(2026, 11, 30), True),
        ("gpt-image-1.5", date(2026, 12, 1), False),
        ("chatgpt-image-latest", date(2026, 12, 1), False),
        ("dall-e-3", date(2026, 11, 25), False),
        ("gpt-image-2.6-sunburst", date(2030, 1, 1), True),
    ],
)
def test_models_are_served_until_their_shutdown(
    client: sdk.OpenAI, openai: StandIn, model: str, today: date, served: bool
) -> None:
    openai.today = today
    if served:
        assert client.images.generate(model=model, prompt="p").data
        return
    with pytest.raises(sdk.NotFoundError) as missing:
        client.images.generate(model=model, prompt="p")
    assert missing.value.code == "model_not_found"


@pytest.mark.parametrize(
    "model", ["gpt-image-2", "gpt-image-2.5-flare-2026-09-08", "chatgpt-image-latest"]
)
def test_input_fidelity_is_refused_where_openai_says_to_omit_it(
    client: sdk.OpenAI, model: str
) -> None:
    with pytest.raises(sdk.BadRequestError) as refused:
        client.images.edit(model=model, prompt="p", image=[PNG], input_fidelity="high")
    assert (refused.value.param, refused.value.code) == ("input_fidelity", "unsupported_parameter")
    assert client.images.edit(model=model, prompt="p", image=[PNG]).data


def test_safety_identifier_is_taken_and_echoed_where_documented(client: sdk.OpenAI) -> None:
    generated = client.images.generate(model=LIVE_MODEL, prompt="p", safety_identifier="u-1")
    edited = client.images.edit(model=LIVE_MODEL, prompt="p", image=[PNG], user="u-2")
    assert (generated.safety_identifier, edited.safety_identifier) == ("u-1", "u-2")
    with pytest.raises(sdk.BadRequestError) as too_long:
        client.images.generate(model=LIVE_MODEL, prompt="p", safety_identifier="u" * 129)
    assert too_long.value.code == "string_above_max_length"


def test_json_edits_have_no_safety_identifier(client: sdk.OpenAI) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG[1]).decode()
    body = {
        "model": LIVE_MODEL,
        "prompt": "p",
        "images": [{"image_url": data_url}],
        "safety_identifier": "u-1",
    }
    with pytest.raises(sdk.BadRequestError) as refused:
        client.post("/images/edits", body=body, cast_to=ImagesResponse)
    assert (refused.value.param, refused.value.code) == ("safety_identifier", "unknown_parameter")


@pytest.mark.parametrize(
    ("model", "size", "accepted"),
    [
        ("gpt-image-2", "1536x864", True),
        ("gpt-image-2", "3840x2160", True),
        ("gpt-image-2", "2160x3840", True),
        ("gpt-image-2.5-flare-2026-09-08", "2048x1152", True),
        ("gpt-image-2", "1000x1008", False),  # a side not divisible by 16
        ("gpt-image-2", "3168x1024", False),  # wider than 3:1
        ("gpt-image-2", "3840x2304", False),  # more pixels than 3840x2160
        ("gpt-image-2", "4096x1440", False),  # a side longer than 3840
        ("gpt-image-2", "wide", False),
        ("gpt-image-2.6-sunburst", "2048x2048", False),  # not among the arbitrary-size models
        ("gpt-image-2.6-sunburst", "1536x1024", True),
        ("gpt-image-1.5", "auto", True),
    ],
)
def test_sizes_follow_the_sdks_rules_per_model(
    client: sdk.OpenAI, model: str, size: str, accepted: bool
) -> None:
    if accepted:
        assert client.images.generate(model=model, prompt="p", size=size).size == size.replace(
            "auto", "1024x1024"
        )
        return
    with pytest.raises(sdk.BadRequestError) as refused:
        client.images.generate(model=model, prompt="p", size=size)
    assert refused.value.param == "size"


def test_a_json_edit_takes_an_arbitrary_size(client: sdk.OpenAI) -> None:
    image = {"image_url": f"data:image/png;base64,{base64.b64encode(PNG[1]).decode()}"}
    body = {"model": LIVE_MODEL, "prompt": "p", "images": [image], "size": "1536x864"}
    assert client.post("/images/edits", body=body, cast_to=ImagesResponse).size == "1536x864"


@pytest.mark.parametrize("module", PARAMS_MODULES)
def test_the_tiers_above_high_are_for_the_models_the_sdk_names(module: object) -> None:
    assert set(TOP_QUALITY_MODELS) == models_with_top_qualities(module)


@pytest.mark.parametrize("quality", ["xhigh", "max"])
@pytest.mark.parametrize(
    ("model", "accepted"),
    [
        ("gpt-image-2.5-sunburst", True),
        ("gpt-image-2.5-flare-2026-09-08", True),
        ("gpt-image-2", False),
        ("gpt-image-2.6-flare", False),
    ],
)
def test_xhigh_and_max_only_where_the_sdk_says(
    client: sdk.OpenAI, quality: str, model: str, accepted: bool
) -> None:
    if accepted:
        assert client.images.generate(model=model, prompt="p", quality=quality).quality == quality
        edited = client.images.edit(model=model, prompt="p", image=[PNG], quality=quality)
        assert edited.quality == quality
        return
    for make in (
        lambda: client.images.generate(model=model, prompt="p", quality=quality),
        lambda: client.images.edit(model=model, prompt="p", image=[PNG], quality=quality),
    ):
        with pytest.raises(sdk.BadRequestError) as refused:
            make()
        assert (refused.value.param, refused.value.code) == ("quality", "invalid_value")
