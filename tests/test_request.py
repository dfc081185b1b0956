"""Unit tests: the hosted model's inputs mapped to OpenAI Images API parameters."""

import asyncio
import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from gpt_image.errors import PredictionError
from gpt_image.inputs import InputImage
from gpt_image.models import KNOWN_MODELS, model_info
from gpt_image.request import (
    MAX_DATA_URL_CHARS,
    READ_BYTES,
    ImageOptions,
    JsonEditBody,
    adapt_to_model,
    check_options,
    check_quality,
    generation_params,
    multipart_edit_params,
    use_json_edit,
)
from tests.sdk_docstrings import PARAMS_MODULES, models_with_top_qualities


def json_body(options: ImageOptions, model: str, images: list[InputImage]) -> dict[str, Any]:
    """The edit's JSON body as the connection receives it; its length as announced."""

    async def collect() -> bytes:
        return b"".join([piece async for piece in body])

    body = JsonEditBody(options, model, images)
    sent = asyncio.run(collect())
    assert len(sent) == body.length
    body.seek(0)  # as the SDK rewinds it before a retry
    assert asyncio.run(collect()) == sent
    return json.loads(sent)


def test_json_edit_body_reads_the_same_from_any_position(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(3 * READ_BYTES + 5)  # several reads' worth
    images = [image_of(tmp_path, len(data), data), image_of(tmp_path, 7)]
    body = JsonEditBody(ImageOptions(prompt="p", moderation="low"), "m", images)
    whole = body.read()
    assert json.loads(whole)["images"][0]["image_url"] == (
        "data:image/png;base64," + base64.b64encode(data).decode()
    )
    for position, size in [(0, 1), (1, 7), (90, 5), (len(whole) - 3, 10), (777_777, 12_345)]:
        body.seek(position)
        assert body.read(size) == whole[position : position + size]
        assert body.tell() == min(len(whole), position + size)


def test_generation_defaults_map_to_openai_parameters() -> None:
    assert generation_params(ImageOptions(prompt="a fox"), "gpt-image-1") == {
        "model": "gpt-image-1",
        "prompt": "a fox",
        "n": 1,
        "size": "1024x1024",
        "quality": "auto",
        "background": "auto",
        "output_format": "webp",
        "output_compression": 90,
        "moderation": "auto",
    }


@pytest.mark.parametrize(
    ("aspect_ratio", "size"),
    [("1:1", "1024x1024"), ("3:2", "1536x1024"), ("2:3", "1024x1536")],
)
def test_aspect_ratio_becomes_size(aspect_ratio: str, size: str) -> None:
    params = generation_params(ImageOptions(prompt="p", aspect_ratio=aspect_ratio), "m")
    assert params["size"] == size


@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_compression_is_sent_for_lossy_formats(output_format: str) -> None:
    options = ImageOptions(prompt="p", output_format=output_format, output_compression=37)
    assert generation_params(options, "m")["output_compression"] == 37
    assert multipart_edit_params(options, "m")["output_compression"] == 37


def test_compression_is_never_sent_with_png() -> None:
    options = ImageOptions(prompt="p", output_format="png", output_compression=37)
    assert "output_compression" not in generation_params(options, "m")
    assert "output_compression" not in multipart_edit_params(options, "m")


def test_user_id_becomes_safety_identifier_only_when_given() -> None:
    options = ImageOptions(prompt="p", user_id="u-42")
    for params in (generation_params(options, "m"), multipart_edit_params(options, "m")):
        assert params["safety_identifier"] == "u-42"
        assert "user" not in params  # deprecated where safety_identifier exists
    for empty in (None, ""):
        params = generation_params(ImageOptions(prompt="p", user_id=empty), "m")
        assert "safety_identifier" not in params and "user" not in params


def test_json_edit_sends_user_id_as_user(tmp_path: Path) -> None:
    body = json_body(ImageOptions(prompt="p", user_id="u-42"), "m", [image_of(tmp_path, 10)])
    assert body["user"] == "u-42"
    assert "safety_identifier" not in body


def test_input_fidelity_goes_to_edits_only() -> None:
    options = ImageOptions(prompt="p", input_fidelity="high")
    assert multipart_edit_params(options, "m")["input_fidelity"] == "high"
    assert "input_fidelity" not in generation_params(options, "m")


def test_multipart_edit_has_no_moderation_field() -> None:
    options = ImageOptions(prompt="p", moderation="low")
    assert generation_params(options, "m")["moderation"] == "low"
    assert "moderation" not in multipart_edit_params(options, "m")


def test_every_other_choice_passes_through() -> None:
    options = ImageOptions(prompt="p", number_of_images=7, quality="high", background="transparent")
    params = multipart_edit_params(options, "gpt-image-1.5")
    assert (params["model"], params["n"], params["quality"], params["background"]) == (
        "gpt-image-1.5",
        7,
        "high",
        "transparent",
    )


ADAPTATIONS = [
    (
        "gpt-image-1-mini",
        "high",
        "gpt-image-1-mini supports input_fidelity 'low' only, so 'high' was not sent.",
    ),
    (
        "gpt-image-2.5-sunburst",
        "high",
        "gpt-image-2.5-sunburst matches input images at high fidelity on its own, so "
        "input_fidelity is not sent.",
    ),
    (
        "chatgpt-image-latest",
        "high",
        "OpenAI documents no input_fidelity for chatgpt-image-latest, so 'high' was not sent.",
    ),
]


@pytest.mark.parametrize(("model", "fidelity", "note"), ADAPTATIONS)
def test_input_fidelity_the_model_refuses_is_dropped_with_a_note(
    model: str, fidelity: str, note: str
) -> None:
    options = ImageOptions(prompt="p", input_fidelity=fidelity)
    adapted, notes = adapt_to_model(options, model_info(model))
    assert "input_fidelity" not in multipart_edit_params(adapted, model)
    assert notes == [note]


@pytest.mark.parametrize(
    ("model", "fidelity"),
    [
        ("gpt-image-1-mini", "low"),
        ("gpt-image-1.5", "high"),
        ("gpt-image-1.5", "low"),
        ("gpt-image-7", "high"),  # unknown: sent as asked
    ],
)
def test_supported_input_fidelity_is_kept(model: str, fidelity: str) -> None:
    options = ImageOptions(prompt="p", input_fidelity=fidelity)
    adapted, notes = adapt_to_model(options, model_info(model))
    assert (adapted, notes) == (options, [])


@pytest.mark.parametrize(
    "model",
    [
        "gpt-image-2",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.6-sunburst-2026-12-15",  # a snapshot newer than the table
        "chatgpt-image-latest",
        "gpt-image-7",  # unknown: 'low' is what leaving it out means
    ],
)
def test_default_input_fidelity_is_left_out_without_a_word(model: str) -> None:
    """'low' is the API's default: where the model takes no input_fidelity, leaving it
    out asks for the same thing, and the caller, who asked for nothing, is told nothing."""
    options = ImageOptions(prompt="p", input_fidelity="low")
    adapted, notes = adapt_to_model(options, model_info(model))
    assert "input_fidelity" not in multipart_edit_params(adapted, model)
    assert notes == []


def image_of(tmp_path: Path, size: int, data: bytes = b"") -> InputImage:
    """An input image of `size` bytes (`data`, or filler), sent from a file."""
    path = tmp_path / f"image{len(list(tmp_path.iterdir()))}.png"
    path.write_bytes(data or b"x" * size)
    return InputImage(1, path, "png", 1, 1, "PNG", size)


def test_json_edit_carries_moderation_and_data_urls(tmp_path: Path) -> None:
    options = ImageOptions(prompt="p", moderation="low", output_format="png")
    images = [image_of(tmp_path, 10), image_of(tmp_path, 20)]
    body = json_body(options, "gpt-image-1", images)
    assert body["moderation"] == "low"
    assert body["images"] == [
        {
            "image_url": "data:image/png;base64,"
            + base64.b64encode(image.read(0, image.size)).decode()
        }
        for image in images
    ]
    assert body["input_fidelity"] == "low"
    assert "output_compression" not in body


def test_json_form_only_when_moderation_needs_it_and_images_fit(tmp_path: Path) -> None:
    small, limit = image_of(tmp_path, 100), MAX_DATA_URL_CHARS * 3 // 4 - 100
    assert not use_json_edit(ImageOptions(prompt="p"), [small])
    assert use_json_edit(ImageOptions(prompt="p", moderation="low"), [small])
    assert use_json_edit(ImageOptions(prompt="p", moderation="low"), [image_of(tmp_path, limit)])
    too_big = image_of(tmp_path, limit + 100)
    assert too_big.data_url_length > MAX_DATA_URL_CHARS
    assert not use_json_edit(ImageOptions(prompt="p", moderation="low"), [small, too_big])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ImageOptions(prompt=""), "The prompt is empty"),
        (ImageOptions(prompt="  \n"), "The prompt is empty"),
        (ImageOptions(prompt="x" * 32_001), "The prompt is 32,001 characters long"),
        (
            ImageOptions(prompt="p", background="transparent", output_format="jpeg"),
            "JPEG has no transparency",
        ),
        (ImageOptions(prompt="p", user_id="u" * 129), "user_id is 129 characters long"),
    ],
)
def test_what_openai_would_refuse_is_refused_first(options: ImageOptions, message: str) -> None:
    with pytest.raises(PredictionError, match=message):
        check_options(options)


@pytest.mark.parametrize(
    "options",
    [
        ImageOptions(prompt="x" * 32_000),
        ImageOptions(prompt="p", background="transparent", output_format="png"),
        ImageOptions(prompt="p", background="transparent", output_format="webp"),
        ImageOptions(prompt="p", background="opaque", output_format="jpeg"),
        ImageOptions(prompt="p", user_id="u" * 128),
    ],
)
def test_what_openai_accepts_passes(options: ImageOptions) -> None:
    check_options(options)


@pytest.mark.parametrize("module", PARAMS_MODULES)
def test_the_tiers_above_high_are_the_models_the_sdk_names(module: object) -> None:
    named = models_with_top_qualities(module)
    assert {name for name, info in KNOWN_MODELS.items() if info.top_qualities} == named


@pytest.mark.parametrize("quality", ["xhigh", "max"])
@pytest.mark.parametrize(
    "model",
    ["gpt-image-2.5-sunburst", "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5-flare-2027-01-15"],
)
def test_the_gpt_image_2_5_models_and_their_snapshots_take_them(quality: str, model: str) -> None:
    check_quality(quality, model_info(model))


@pytest.mark.parametrize("quality", ["xhigh", "max"])
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2.6-flare", "gpt-image-1.5"])
def test_other_models_refuse_them_naming_those_that_can(quality: str, model: str) -> None:
    with pytest.raises(PredictionError) as refused:
        check_quality(quality, model_info(model))
    assert str(refused.value) == (
        f"Quality {quality} is made only by gpt-image-2.5-sunburst or gpt-image-2.5-flare, "
        f"not {model}: set OPENAI_IMAGE_MODEL to one of them, or ask for quality high."
    )


def test_every_model_takes_the_other_tiers_and_an_unknown_one_any() -> None:
    for info in KNOWN_MODELS.values():
        for quality in ("low", "medium", "high", "auto"):
            check_quality(quality, info)
    check_quality("max", model_info("gpt-image-3"))  # OpenAI decides
