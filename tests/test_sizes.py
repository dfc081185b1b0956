"""Unit tests: which model makes which size, what the log says about sizes and
transparency, and which key pays. The model lists come from the SDK's own words."""

import pytest
from openai.types import image_generate_params

from gpt_image.errors import PredictionError
from gpt_image.images_api import choose_key
from gpt_image.models import KNOWN_MODELS, model_info
from gpt_image.sizes import check_size, size_notes
from tests.sdk_docstrings import PARAMS_MODULES, models_named_in

CALLER, OPERATOR = "sk-caller-0123456789abcdef", "sk-operator-0123456789abcdef"


@pytest.mark.parametrize("module", PARAMS_MODULES)
def test_any_size_models_are_those_the_sdk_names(module: object) -> None:
    named = models_named_in(module, "arbitrary resolutions")
    assert {name for name, info in KNOWN_MODELS.items() if info.any_size} == named


def test_transparency_is_a_preview_where_the_sdk_says_so() -> None:
    named = models_named_in(image_generate_params, "this support is in preview")
    assert {n for n, info in KNOWN_MODELS.items() if info.transparency_in_preview} == named


@pytest.mark.parametrize("aspect_ratio", ["1:1", "3:2", "2:3", "auto", "1536x1024"])
def test_every_model_makes_the_standard_sizes(aspect_ratio: str) -> None:
    for info in KNOWN_MODELS.values():
        check_size(aspect_ratio, info)


def test_a_model_without_any_size_refuses_others_in_one_sentence() -> None:
    with pytest.raises(PredictionError) as refused:
        check_size("2048x1152", model_info("gpt-image-2.6-flare"))
    message = str(refused.value)
    assert message.count(". ") == 0 and message.endswith("which can.")
    assert "gpt-image-2.6-flare makes only" in message and "gpt-image-2.5-flare" in message
    assert "2026-09-08" not in message  # snapshots are not what one picks first


def test_an_unknown_model_is_sent_any_size() -> None:
    check_size("3840x2160", model_info("gpt-image-3"))


@pytest.mark.parametrize(
    ("aspect_ratio", "experimental"),
    [
        *[("2048x2048", True), ("3840x2160", True), ("2160x3840", True)],
        *[("2048x1152", False), ("16:9", False), ("auto", False), ("1:1", False)],
    ],
)
def test_experimental_sizes_are_logged(aspect_ratio: str, experimental: bool) -> None:
    notes = size_notes(aspect_ratio, "auto", model_info("gpt-image-2"))
    assert bool(notes) == experimental


def test_preview_transparency_is_logged_for_gpt_image_2_only() -> None:
    assert size_notes("1:1", "transparent", model_info("gpt-image-2")) == [
        "Transparent backgrounds are in preview on gpt-image-2: results may vary."
    ]
    assert size_notes("1:1", "transparent", model_info("gpt-image-2.5-sunburst")) == []


def test_the_callers_key_wins() -> None:
    assert choose_key(CALLER, OPERATOR, True) == (CALLER, False)
    assert choose_key(f" {CALLER}\n", None, False) == (CALLER, False)


@pytest.mark.parametrize("caller", [None, "", " \n"])
def test_without_one_the_operators_pays_where_allowed(caller: str | None) -> None:
    assert choose_key(caller, OPERATOR, True) == (OPERATOR, True)
    with pytest.raises(PredictionError, match=r"^No OpenAI API key: pass openai_api_key"):
        choose_key(caller, None, True)
    with pytest.raises(PredictionError, match=r"^openai_api_key is empty"):
        choose_key(caller, OPERATOR, False)  # gpt-image-1's interface: the caller's or none
