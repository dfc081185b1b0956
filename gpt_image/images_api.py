"""The calls to OpenAI's Images API, through the official async SDK.

Each call logs what it sends (never the key or the images), which the caller
sees in the prediction's logs.
"""

import json
import os
import re
from collections.abc import Awaitable
from typing import Any

from openai import AsyncOpenAI
from openai.types import ImagesResponse

from gpt_image.errors import PredictionError
from gpt_image.inputs import InputImage
from gpt_image.request import (
    ImageOptions,
    generation_params,
    json_edit_body,
    multipart_edit_params,
    use_json_edit,
)

# Seconds to wait for each attempt: a high-quality 1536x1024 image can take two minutes.
DEFAULT_TIMEOUT = 300.0
# The SDK retries 408, 409, 429, 5xx and connection errors, honouring retry-after.
# A failed request is not billed, so retrying costs nothing.
DEFAULT_MAX_RETRIES = 2
# The shared client never sends this: every prediction uses its caller's key.
NO_KEY = "no-key-set-use-a-predictions-own-key"
LOGGED_PARAMS = (
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "moderation",
    "input_fidelity",
)


def make_client() -> AsyncOpenAI:
    """The one client every prediction shares, so connections are pooled.

    OPENAI_BASE_URL (read by the SDK) points it at a proxy or gateway;
    OPENAI_TIMEOUT and OPENAI_MAX_RETRIES tune it.
    """
    return AsyncOpenAI(
        api_key=NO_KEY,
        timeout=_setting("OPENAI_TIMEOUT", DEFAULT_TIMEOUT, float),
        max_retries=_setting("OPENAI_MAX_RETRIES", DEFAULT_MAX_RETRIES, int),
    )


def checked_api_key(value: str | None) -> str:
    """The caller's key, trimmed; refused if no OpenAI key could look like it."""
    key = (value or "").strip()
    if not key:
        raise PredictionError("openai_api_key is empty. Pass your OpenAI API key.")
    if not re.fullmatch(r"[\x21-\x7e]+", key):
        raise PredictionError(
            "openai_api_key contains spaces, line breaks or other characters no API key "
            "has. Copy the key again and try again."
        )
    return key


async def generate(client: AsyncOpenAI, options: ImageOptions, model: str) -> ImagesResponse:
    """POST /v1/images/generations."""
    params = generation_params(options, model)
    print(f"POST /v1/images/generations {_describe(params)}")
    return await _images_response(client.images.generate(**params))


async def edit(
    client: AsyncOpenAI, options: ImageOptions, model: str, images: list[InputImage]
) -> ImagesResponse:
    """POST /v1/images/edits, as JSON when only that form honours every input."""
    if use_json_edit(options, images):
        body = json_edit_body(options, model, images)
        print(f"POST /v1/images/edits (JSON) {_describe(body)}")
        # The SDK's edit() speaks multipart only; post() keeps its authentication,
        # retries and error types.
        return await _images_response(
            client.post("/images/edits", body=body, cast_to=ImagesResponse)
        )

    if options.moderation != "auto":
        print(
            f"moderation '{options.moderation}' was not applied: an image is too large for "
            "the JSON form of the request, the only one with a moderation field."
        )
    params = multipart_edit_params(options, model)
    print(f"POST /v1/images/edits (multipart) {_describe(params)}")
    files = [image.upload_file for image in images]
    return await _images_response(client.images.edit(image=files, **params))


async def _images_response(call: Awaitable[Any]) -> ImagesResponse:
    """The call's ImagesResponse; a 200 answer that is not one is an error."""
    try:
        response = await call
    except json.JSONDecodeError:
        raise PredictionError("OpenAI answered with broken JSON. Try again.") from None
    if not isinstance(response, ImagesResponse):  # the SDK hands back non-JSON as text
        raise PredictionError("OpenAI answered with something other than JSON. Try again.")
    return response


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{name}={params[name]}" for name in LOGGED_PARAMS if name in params)


def _setting(name: str, default: Any, kind: type) -> Any:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(f"{name} must be a non-negative {kind.__name__}, not {value!r}.")
    return number
