"""Unit tests: the model table covers every model the SDK knows, and its lifecycle
warnings follow the calendar they are given."""

from datetime import date
from typing import get_args

import pytest
from openai.types import ImageModel

from gpt_image.models import DEFAULT_MODEL, KNOWN_MODELS, model_info, model_log


def test_every_model_the_sdk_lists_is_in_the_table() -> None:
    # A newer openai SDK that adds a model fails here until the table knows it.
    assert set(get_args(ImageModel)) == set(KNOWN_MODELS)


def test_default_is_gpt_image_1s_successor_and_lives() -> None:
    assert DEFAULT_MODEL == "gpt-image-2.5-sunburst"
    assert model_info(DEFAULT_MODEL).shutdown is None


@pytest.mark.parametrize(
    ("today", "warning"),
    [
        (date(2026, 10, 31), None),
        (
            date(2026, 11, 1),
            "Warning: OpenAI shuts gpt-image-1.5 down on 2026-12-01, in 30 days. Set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.6-sunburst or gpt-image-2.6-flare.",
        ),
        (
            date(2026, 11, 30),
            "Warning: OpenAI shuts gpt-image-1.5 down on 2026-12-01, in 1 day. Set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.6-sunburst or gpt-image-2.6-flare.",
        ),
        (
            date(2026, 12, 1),
            "Warning: OpenAI shut gpt-image-1.5 down on 2026-12-01. Set "
            "OPENAI_IMAGE_MODEL to its successor, gpt-image-2.6-sunburst or gpt-image-2.6-flare.",
        ),
    ],
)
def test_shutdown_is_announced_from_30_days_before(today: date, warning: str | None) -> None:
    assert model_info("gpt-image-1.5").lifecycle_warning(today) == warning


def test_log_names_the_model_and_what_is_known_of_it() -> None:
    today = date(2026, 11, 25)
    assert model_log(model_info(DEFAULT_MODEL), today, "the default") == [
        "Model: gpt-image-2.5-sunburst (the default)."
    ]
    assert model_log(model_info("gpt-image-3"), today, "set by OPENAI_IMAGE_MODEL") == [
        "Model: gpt-image-3 (set by OPENAI_IMAGE_MODEL).",
        "gpt-image-3 is not a model this package knows: it is sent as named, with "
        "input_fidelity only if you ask for 'high', and no prices are known for it.",
    ]
    assert model_log(model_info("gpt-image-1"), today, "set by OPENAI_IMAGE_MODEL")[1] == (
        "Warning: OpenAI shut gpt-image-1 down on 2026-10-23. Set OPENAI_IMAGE_MODEL to its "
        "successor, gpt-image-2.5-sunburst or gpt-image-2.5-flare."
    )


def test_a_newer_dated_snapshot_takes_its_models_rules_prices_and_lifecycle() -> None:
    snapshot = model_info("gpt-image-2.6-sunburst-2026-12-15")
    family = model_info("gpt-image-2.6-sunburst")
    assert (snapshot.name, snapshot.snapshot_of) == (
        "gpt-image-2.6-sunburst-2026-12-15",
        family.name,
    )
    assert (snapshot.input_fidelities, snapshot.prices) == (family.input_fidelities, family.prices)
    assert model_info("gpt-image-1.5-2026-12-15").shutdown == model_info("gpt-image-1.5").shutdown
    assert model_log(snapshot, date(2026, 12, 2), "set by OPENAI_IMAGE_MODEL") == [
        "Model: gpt-image-2.6-sunburst-2026-12-15 (set by OPENAI_IMAGE_MODEL).",
        "gpt-image-2.6-sunburst-2026-12-15 is a dated snapshot of gpt-image-2.6-sunburst, newer "
        "than this package's table: gpt-image-2.6-sunburst's rules, prices and shutdown date "
        "apply.",
    ]


@pytest.mark.parametrize("name", ["gpt-image-3-2027-01-01", "gpt-image-2.6-sunburst-preview"])
def test_a_name_that_is_no_snapshot_of_a_known_model_is_unknown(name: str) -> None:
    assert not model_info(name).known
