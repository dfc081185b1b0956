"""Unit tests: the hosted model's inputs mapped to OpenAI Images API parameters."""

import pytest

from gpt_image.request import ImageOptions, edit_params, generation_params


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
    assert edit_params(options, "m")["output_compression"] == 37


def test_compression_is_never_sent_with_png() -> None:
    options = ImageOptions(prompt="p", output_format="png", output_compression=37)
    assert "output_compression" not in generation_params(options, "m")
    assert "output_compression" not in edit_params(options, "m")


def test_user_id_becomes_user_only_when_given() -> None:
    assert generation_params(ImageOptions(prompt="p", user_id="u-42"), "m")["user"] == "u-42"
    assert "user" not in generation_params(ImageOptions(prompt="p"), "m")
    assert "user" not in generation_params(ImageOptions(prompt="p", user_id=""), "m")


def test_input_fidelity_goes_to_edits_only() -> None:
    options = ImageOptions(prompt="p", input_fidelity="high")
    assert edit_params(options, "m")["input_fidelity"] == "high"
    assert "input_fidelity" not in generation_params(options, "m")


def test_multipart_edit_has_no_moderation_field() -> None:
    options = ImageOptions(prompt="p", moderation="low")
    assert generation_params(options, "m")["moderation"] == "low"
    assert "moderation" not in edit_params(options, "m")


def test_every_other_choice_passes_through() -> None:
    options = ImageOptions(prompt="p", number_of_images=7, quality="high", background="transparent")
    params = edit_params(options, "gpt-image-1.5")
    assert (params["model"], params["n"], params["quality"], params["background"]) == (
        "gpt-image-1.5",
        7,
        "high",
        "transparent",
    )
