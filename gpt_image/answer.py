"""Read OpenAI's answer as it arrives: each image is written to its file as soon as
its base64 is complete, so a prediction holds about one image at a time, never the
whole answer (ten 1536x1024 PNGs are 63 MB of JSON)."""

from pathlib import Path
from typing import Any

import httpx2
import ijson
from openai import AsyncAPIResponse
from openai.types import Image, ImagesResponse

from gpt_image.errors import PredictionError
from gpt_image.outputs import ImageFiles

IMAGE_PREFIX = "data.item"


class BrokenAnswer(PredictionError):
    """OpenAI's 200 answer was not a whole ImagesResponse."""


class _Body:
    """The response body as the file-like object ijson reads asynchronously."""

    def __init__(self, response: AsyncAPIResponse[Any]) -> None:
        # As the network delivers them (at most 64 KiB each), so nothing that
        # arrived is held back if the connection breaks.
        self._chunks = response.iter_bytes()

    async def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson asks for nothing first, to learn the type
            return b""
        return await anext(self._chunks, b"")


async def read_answer(
    response: AsyncAPIResponse[Any], directory: Path, expected: int
) -> tuple[ImagesResponse, list[Path], list[str]]:
    """OpenAI's answer without the images' base64 (for the logs and metrics), the
    image files, and a note for everything that did not come as asked."""
    if "json" not in response.headers.get("content-type", ""):
        raise BrokenAnswer("OpenAI answered with something other than JSON. Try again.")
    files = ImageFiles(directory)
    rest = ijson.ObjectBuilder()  # everything but the images' base64
    entries = 0
    try:
        async for prefix, event, value in ijson.parse_async(_Body(response)):
            if prefix == f"{IMAGE_PREFIX}.b64_json" and event == "string":
                await files.add(value)
                continue
            if prefix == IMAGE_PREFIX and event == "start_map":
                entries += 1
            if not prefix.startswith(IMAGE_PREFIX):
                rest.event(event, value)
    except (ijson.JSONError, httpx2.TransportError) as error:
        return _broken_off(error, files, expected)
    except BaseException:
        files.discard()  # cancelled or failed: no half set is left behind
        raise
    paths, notes = files.finish(expected)
    return _metadata(rest.value, entries), paths, notes


def _broken_off(
    error: Exception, files: ImageFiles, expected: int
) -> tuple[ImagesResponse, list[Path], list[str]]:
    """Images that arrived whole before the answer broke off are kept: OpenAI made them."""
    if isinstance(error, ijson.JSONError):
        what = "OpenAI answered with broken JSON"
    else:
        what = "OpenAI's answer broke off (the connection was lost or too slow)"
    if not files.paths:
        files.discard()
        raise BrokenAnswer(f"{what}. Try again.") from None
    files.notes.append(f"{what} after {len(files.paths)} image(s); those are kept.")
    paths, notes = files.finish(expected)
    return _metadata({}, files.received), paths, notes


def _metadata(fields: Any, images: int) -> ImagesResponse:
    """The answer's own fields, with an empty entry for each image it held."""
    if not isinstance(fields, dict):
        raise BrokenAnswer("OpenAI's answer was not a valid image response. Try again.")
    fields.pop("data", None)
    # Built leniently, as the SDK builds its answers: a stray field is not an error.
    return ImagesResponse.construct(**{"created": 0, **fields, "data": [Image()] * images})
