"""Map the model's inputs to the parameters of OpenAI's Images API."""

from dataclasses import dataclass
from typing import Any

# OpenAI takes a pixel size where the hosted model offers an aspect ratio.
SIZE_BY_ASPECT_RATIO = {"1:1": "1024x1024", "3:2": "1536x1024", "2:3": "1024x1536"}

# OpenAI accepts output_compression only for these formats and rejects it for png.
COMPRESSIBLE_FORMATS = ("jpeg", "webp")


@dataclass(frozen=True)
class ImageOptions:
    """What the caller asked for, in the hosted model's terms."""

    prompt: str
    aspect_ratio: str = "1:1"
    input_fidelity: str = "low"
    number_of_images: int = 1
    quality: str = "auto"
    background: str = "auto"
    output_compression: int = 90
    output_format: str = "webp"
    moderation: str = "auto"
    user_id: str | None = None


def generation_params(options: ImageOptions, model: str) -> dict[str, Any]:
    """Keyword arguments for `client.images.generate`."""
    return {**_shared_params(options, model), "moderation": options.moderation}


def edit_params(options: ImageOptions, model: str) -> dict[str, Any]:
    """Keyword arguments for `client.images.edit`, apart from the images.

    The multipart form of /v1/images/edits has no `moderation` field, so the
    input is not sent here; input_fidelity exists only on edits.
    """
    return {**_shared_params(options, model), "input_fidelity": options.input_fidelity}


def _shared_params(options: ImageOptions, model: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": model,
        "prompt": options.prompt,
        "n": options.number_of_images,
        "size": SIZE_BY_ASPECT_RATIO[options.aspect_ratio],
        "quality": options.quality,
        "background": options.background,
        "output_format": options.output_format,
    }
    if options.output_format in COMPRESSIBLE_FORMATS:
        params["output_compression"] = options.output_compression
    if options.user_id:  # an empty identifier identifies no one
        params["user"] = options.user_id
    return params
