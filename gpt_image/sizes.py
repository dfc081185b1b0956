"""The `size` OpenAI is asked for, from the hosted interfaces' aspect_ratio, and
whether the model can make it.

The rules are openai-python 3.54's `size` docstrings (image_generate_params.py,
image_edit_params.py): the standard sizes and `auto` on the GPT image models, any
WIDTHxHEIGHT only on the models flagged `any_size` in the model table.
"""

from gpt_image.errors import PredictionError
from gpt_image.models import ModelInfo, models_that_can

STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
AUTO = "auto"

# The aspect ratios the hosted interfaces offer, as pixel sizes; `auto` and the fixed
# WIDTHxHEIGHT choices go as given. 16:9 and 9:16: exactly that ratio, the example
# openai-python gives, and no larger than 3:2 (docs/behaviour.md, "Sizes").
SIZE_BY_ASPECT_RATIO = {
    "1:1": "1024x1024",
    "3:2": "1536x1024",
    "2:3": "1024x1536",
    "16:9": "1536x864",
    "9:16": "864x1536",
}

# "Resolutions above `2560x1440` are experimental": read as more pixels, or a longer
# side, than 2560x1440 has.
EXPERIMENTAL_PIXELS = 2560 * 1440
EXPERIMENTAL_SIDE = 2560


def size_for(aspect_ratio: str) -> str:
    return SIZE_BY_ASPECT_RATIO.get(aspect_ratio, aspect_ratio)


def can_make(model: ModelInfo, size: str) -> bool:
    """A model the table does not know is sent every size as asked."""
    return size == AUTO or size in STANDARD_SIZES or model.any_size or not model.known


def check_size(aspect_ratio: str, model: ModelInfo) -> None:
    """Refuse, before any request, a size the model cannot make."""
    size = size_for(aspect_ratio)
    if can_make(model, size):
        return
    asked = size if size == aspect_ratio else f"aspect_ratio {aspect_ratio} ({size})"
    able = models_that_can(lambda info: can_make(info, size))
    raise PredictionError(
        f"{model.name} makes only {', '.join(STANDARD_SIZES)} and auto, not {asked}: "
        f"set OPENAI_IMAGE_MODEL to {able}, which can."
    )


def size_notes(aspect_ratio: str, background: str, model: ModelInfo) -> list[str]:
    """What the log says about a size or background OpenAI does not yet promise."""
    notes = []
    size = size_for(aspect_ratio)
    if size != AUTO and size not in STANDARD_SIZES:
        width, height = map(int, size.split("x"))
        if width * height > EXPERIMENTAL_PIXELS or max(width, height) > EXPERIMENTAL_SIDE:
            notes.append(
                f"{size} is above 2560x1440, which OpenAI calls experimental: results may "
                "vary more than at smaller sizes."
            )
    if background == "transparent" and model.transparency_in_preview:
        notes.append(f"Transparent backgrounds are in preview on {model.name}: results may vary.")
    return notes
