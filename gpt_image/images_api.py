"""The calls to OpenAI's Images API, through the official async SDK.

Each call logs what it sends (never the key or the images), which the caller
sees in the prediction's logs.
"""

from typing import Any

from openai import AsyncOpenAI
from openai.types import ImagesResponse

from gpt_image.inputs import InputImage
from gpt_image.request import (
    ImageOptions,
    generation_params,
    json_edit_body,
    multipart_edit_params,
    use_json_edit,
)

LOGGED_PARAMS = ("model", "n", "size", "quality", "background", "output_format", "moderation")


async def generate(client: AsyncOpenAI, options: ImageOptions, model: str) -> ImagesResponse:
    """POST /v1/images/generations."""
    params = generation_params(options, model)
    print(f"POST /v1/images/generations {_describe(params)}")
    return await client.images.generate(**params)


async def edit(
    client: AsyncOpenAI, options: ImageOptions, model: str, images: list[InputImage]
) -> ImagesResponse:
    """POST /v1/images/edits, as JSON when only that form honours every input."""
    if use_json_edit(options, images):
        body = json_edit_body(options, model, images)
        print(f"POST /v1/images/edits (JSON) {_describe(body)}")
        # The SDK's edit() speaks multipart only; post() keeps its authentication,
        # retries and error types.
        return await client.post("/images/edits", body=body, cast_to=ImagesResponse)

    if options.moderation != "auto":
        print(
            f"moderation '{options.moderation}' was not applied: an image is too large for "
            "the JSON form of the request, the only one with a moderation field."
        )
    params = multipart_edit_params(options, model)
    print(f"POST /v1/images/edits (multipart) {_describe(params)}")
    return await client.images.edit(image=[image.upload_file for image in images], **params)


def _describe(params: dict[str, Any]) -> str:
    return " ".join(f"{name}={params[name]}" for name in LOGGED_PARAMS if name in params)
