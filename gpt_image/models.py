"""What each OpenAI image model accepts, costs and how long it lives, so requests
are adapted instead of refused, costs are estimated and shutdowns are explained.

The facts come from openai-python 3.54 (`types/image_model.py` and the docstrings
of `image_generate_params.py` / `image_edit_params.py`) and OpenAI's deprecations
page; the source of each price is given beside it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

# The first successor OpenAI names for gpt-image-1, whose interface this package keeps.
DEFAULT_MODEL = "gpt-image-2.5-sunburst"

# A shutdown is announced in every prediction's log from this long before it.
WARN_BEFORE_SHUTDOWN = timedelta(days=30)

INPUT_FIDELITIES = ("high", "low")
# "Defaults to `low` on supported models" (openai-python 3.54, image_edit_params.py):
# leaving it out asks for the same thing.
DEFAULT_INPUT_FIDELITY = "low"

# openai-python 3.54, `quality` (image_generate_params.py, image_edit_params.py): "`high`,
# `medium` and `low` are supported for the GPT image models", auto lets the model pick,
# and "`gpt-image-2.5-sunburst` and `gpt-image-2.5-flare`, including their `2026-09-08`
# snapshots, also support `xhigh` and `max`".
TOP_QUALITIES = ("xhigh", "max")

# OpenAI names a dated snapshot of a model <model>-YYYY-MM-DD.
SNAPSHOT_NAME = re.compile(r"(?P<family>.+)-\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Prices:
    """OpenAI's prices in USD per million tokens."""

    text_input: float
    image_input: float
    image_output: float
    # Output tokens the usage reports as text (openai-python 3.54 images_response.py,
    # output_tokens_details). None: no such price is published; they are then
    # counted at the image-output price, which is never lower.
    text_output: float | None = None


@dataclass(frozen=True)
class Shutdown:
    day: date
    successors: tuple[str, ...]

    def advice(self) -> str:
        return f"Set OPENAI_IMAGE_MODEL to its successor, {' or '.join(self.successors)}."


@dataclass(frozen=True)
class ModelInfo:
    name: str
    # The input_fidelity values sent to this model: those OpenAI documents for it.
    input_fidelities: tuple[str, ...] = INPUT_FIDELITIES
    # GPT Image 2 models match input images at high fidelity on their own and
    # refuse the parameter ("For `gpt-image-2`, omit this parameter").
    high_fidelity_built_in: bool = False
    # Takes any WIDTHxHEIGHT within OpenAI's bounds, not only the standard sizes and auto.
    any_size: bool = False
    # Makes quality xhigh and max, above high (TOP_QUALITIES).
    top_qualities: bool = False
    # Makes transparent backgrounds, but OpenAI calls that support a preview.
    transparency_in_preview: bool = False
    prices: Prices | None = None  # None: not published
    shutdown: Shutdown | None = None
    known: bool = True  # False: a model this table has no rules for
    snapshot_of: str | None = None  # the known model whose dated snapshot this is

    def lifecycle_warning(self, today: date) -> str | None:
        """A warning from WARN_BEFORE_SHUTDOWN before an announced shutdown, and after it."""
        if self.shutdown is None or today < self.shutdown.day - WARN_BEFORE_SHUTDOWN:
            return None
        when = self.shutdown.day.isoformat()
        if today >= self.shutdown.day:
            status = f"OpenAI shut {self.name} down on {when}"
        else:
            days = (self.shutdown.day - today).days
            status = f"OpenAI shuts {self.name} down on {when}, in {days} day{'s' * (days != 1)}"
        return f"Warning: {status}. {self.shutdown.advice()}"


# gpt-image-2: OpenAI's model page, as quoted by litellm and llm-prices. The 2.5 and
# 2.6 models: the same price in those third-party tables only. OpenAI publishes no
# text-output price for the line, so text out counts at the image price, as for
# gpt-image-1-mini.
GPT_IMAGE_2_PRICES = Prices(5.00, 8.00, 30.00)

# OpenAI's deprecations page, notice of 2026-06-02; openai-python 3.54 image_model.py.
GPT_IMAGE_1_SHUTDOWN = Shutdown(
    date(2026, 10, 23), ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare")
)
DECEMBER_2026_SHUTDOWN = Shutdown(
    date(2026, 12, 1), ("gpt-image-2.6-sunburst", "gpt-image-2.6-flare")
)
# openai-python says "Use a GPT image model instead"; this package's default is one.
DALL_E_SHUTDOWN = Shutdown(date(2026, 5, 12), (DEFAULT_MODEL,))


# openai-python 3.54, `size`: "arbitrary resolutions are supported as `WIDTHxHEIGHT`"
# for these, and not for the 2.6 models.
ANY_SIZE_MODELS = frozenset(
    {
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
    }
)
# The models that make TOP_QUALITIES, snapshots included.
TOP_QUALITY_MODELS = frozenset(
    {
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
    }
)
# openai-python 3.54, `background`: "For `gpt-image-2` and `gpt-image-2-2026-04-21`,
# this support is in preview."
TRANSPARENCY_PREVIEW_MODELS = frozenset({"gpt-image-2", "gpt-image-2-2026-04-21"})


def _gpt_image_2(name: str) -> ModelInfo:
    return ModelInfo(
        name,
        input_fidelities=(),
        high_fidelity_built_in=True,
        any_size=name in ANY_SIZE_MODELS,
        top_qualities=name in TOP_QUALITY_MODELS,
        transparency_in_preview=name in TRANSPARENCY_PREVIEW_MODELS,
        prices=GPT_IMAGE_2_PRICES,
    )


KNOWN_MODELS = {
    info.name: info
    for info in (
        *map(
            _gpt_image_2,
            (
                "gpt-image-2",
                "gpt-image-2-2026-04-21",
                "gpt-image-2.5-sunburst",
                "gpt-image-2.5-sunburst-2026-09-08",
                "gpt-image-2.5-flare",
                "gpt-image-2.5-flare-2026-09-08",
                "gpt-image-2.6-sunburst",
                "gpt-image-2.6-flare",
            ),
        ),
        ModelInfo(
            "gpt-image-1.5",
            # OpenAI's model page and price list, via litellm / llm-prices (text out $10).
            prices=Prices(5.00, 8.00, 32.00, text_output=10.00),
            shutdown=DECEMBER_2026_SHUTDOWN,
        ),
        ModelInfo(
            "gpt-image-1-mini",
            input_fidelities=("low",),
            prices=Prices(2.00, 2.50, 8.00),  # OpenAI's model page, via litellm / llm-prices
            shutdown=DECEMBER_2026_SHUTDOWN,
        ),
        # OpenAI documents no input_fidelity and publishes no price for it.
        ModelInfo("chatgpt-image-latest", input_fidelities=(), shutdown=DECEMBER_2026_SHUTDOWN),
        ModelInfo(
            "gpt-image-1",
            prices=Prices(5.00, 10.00, 40.00),  # OpenAI's model page while it ran
            shutdown=GPT_IMAGE_1_SHUTDOWN,
        ),
        # Priced per image, not per token; retired before GPT image models took over.
        ModelInfo("dall-e-2", input_fidelities=(), shutdown=DALL_E_SHUTDOWN),
        ModelInfo("dall-e-3", input_fidelities=(), shutdown=DALL_E_SHUTDOWN),
    )
}


def model_info(name: str) -> ModelInfo:
    """The model's entry. A dated snapshot OpenAI published after this table takes its
    model's rules, prices and lifecycle; any other model not listed is sent as named,
    with input_fidelity only when the caller asks for 'high' (the whole GPT Image 2
    line refuses the parameter, and 'low' is what leaving it out means)."""
    if name in KNOWN_MODELS:
        return KNOWN_MODELS[name]
    snapshot = SNAPSHOT_NAME.fullmatch(name)
    family = snapshot and KNOWN_MODELS.get(snapshot["family"])
    if family:
        return replace(family, name=name, snapshot_of=family.name)
    return ModelInfo(name, input_fidelities=("high",), known=False)


def models_that_can(able: Callable[[ModelInfo], bool]) -> str:
    """The live models that can do something, as 'a, b or c': the ones to suggest in
    OPENAI_IMAGE_MODEL (their dated snapshots are not what one picks first)."""
    names = [
        name
        for name, info in KNOWN_MODELS.items()
        if able(info) and info.shutdown is None and not SNAPSHOT_NAME.fullmatch(name)
    ]
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def model_log(model: ModelInfo, today: date, chosen_by: str) -> list[str]:
    """What each prediction's log says about the model that serves it."""
    lines = [f"Model: {model.name} ({chosen_by})."]
    if model.snapshot_of:
        lines.append(
            f"{model.name} is a dated snapshot of {model.snapshot_of}, newer than this "
            f"package's table: {model.snapshot_of}'s rules, prices and shutdown date apply."
        )
    if not model.known:
        lines.append(
            f"{model.name} is not a model this package knows: it is sent as named, with "
            "input_fidelity only if you ask for 'high', and no prices are known for it."
        )
    warning = model.lifecycle_warning(today)
    if warning:
        lines.append(warning)
    return lines
