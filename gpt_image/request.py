"""Map the model's inputs to the parameters of OpenAI's Images API."""

import base64
import bisect
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from gpt_image.errors import PredictionError
from gpt_image.inputs import InputImage
from gpt_image.models import DEFAULT_INPUT_FIDELITY, TOP_QUALITIES, ModelInfo, models_that_can
from gpt_image.sizes import size_for

# OpenAI accepts output_compression only for these formats and rejects it for png.
COMPRESSIBLE_FORMATS = ("jpeg", "webp")

MAX_PROMPT_CHARS = 32_000

# The JSON form of /v1/images/edits takes each image as a data URL up to this long.
MAX_DATA_URL_CHARS = 20_971_520

# openai-python 3.54 documents safety_identifier as "a maximum length of 128
# characters" (chat and responses; the images docs give no other limit).
MAX_USER_ID_CHARS = 128

# A JSON edit body is sent this many bytes at a time: each is about 1 ms of encoding.
READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ImageOptions:
    """What the caller asked for, in the hosted model's terms."""

    prompt: str
    aspect_ratio: str = "1:1"
    input_fidelity: str | None = "low"  # None: not sent
    number_of_images: int = 1
    quality: str = "auto"
    background: str = "auto"
    output_compression: int = 90
    output_format: str = "webp"
    moderation: str = "auto"
    user_id: str | None = None


def check_options(options: ImageOptions) -> None:
    """Refuse, before any request is paid for, what OpenAI would reject."""
    if not options.prompt.strip():
        raise PredictionError("The prompt is empty. Describe the image you want.")
    if len(options.prompt) > MAX_PROMPT_CHARS:
        raise PredictionError(
            f"The prompt is {len(options.prompt):,} characters long, but OpenAI accepts at "
            f"most {MAX_PROMPT_CHARS:,}. Shorten it and try again."
        )
    if options.background == "transparent" and options.output_format == "jpeg":
        raise PredictionError(
            "JPEG has no transparency, so a transparent background needs output_format "
            "png or webp. Change one of the two and try again."
        )
    if options.user_id and len(options.user_id) > MAX_USER_ID_CHARS:
        raise PredictionError(
            f"user_id is {len(options.user_id):,} characters long, but OpenAI accepts at most "
            f"{MAX_USER_ID_CHARS}. Send a shorter identifier, such as a hash of the user's name."
        )


def check_quality(quality: str, model: ModelInfo) -> None:
    """Refuse, before any request, a tier above high on a model without one. A model
    the table does not know is sent it as asked: OpenAI decides."""
    if quality not in TOP_QUALITIES or model.top_qualities or not model.known:
        return
    able = models_that_can(lambda info: info.top_qualities)
    raise PredictionError(
        f"Quality {quality} is made only by {able}, not {model.name}: set "
        "OPENAI_IMAGE_MODEL to one of them, or ask for quality high."
    )


def adapt_to_model(options: ImageOptions, model: ModelInfo) -> tuple[ImageOptions, list[str]]:
    """For an edit: send input_fidelity only where the model takes it.

    Leaving it out means 'low', so a 'low' the model does not take is dropped without
    a word; a 'high' it cannot take is dropped with a note saying why.
    """
    asked = options.input_fidelity
    if asked is None or asked in model.input_fidelities:
        return options, []
    adapted = replace(options, input_fidelity=None)
    if asked == DEFAULT_INPUT_FIDELITY:
        return adapted, []
    if model.high_fidelity_built_in:
        note = (
            f"{model.name} matches input images at high fidelity on its own, "
            "so input_fidelity is not sent."
        )
    elif model.input_fidelities:
        supported = ", ".join(f"'{value}'" for value in model.input_fidelities)
        note = f"{model.name} supports input_fidelity {supported} only, so '{asked}' was not sent."
    else:
        note = f"OpenAI documents no input_fidelity for {model.name}, so '{asked}' was not sent."
    return adapted, [note]


def generation_params(options: ImageOptions, model: str) -> dict[str, Any]:
    """Keyword arguments for `client.images.generate`."""
    return {
        **_shared_params(options, model),
        "moderation": options.moderation,
        **_end_user(options, "safety_identifier"),
    }


def use_json_edit(options: ImageOptions, images: list[InputImage]) -> bool:
    """Whether an edit goes as JSON (images as data URLs) rather than multipart.

    Only the JSON form has a `moderation` field, so it is used when moderation is
    not OpenAI's default and every image fits in a data URL. Otherwise multipart
    sends the same request with a third less data.
    """
    fits = all(image.data_url_length <= MAX_DATA_URL_CHARS for image in images)
    return options.moderation != "auto" and fits


def json_edit_params(options: ImageOptions, model: str) -> dict[str, Any]:
    """The JSON body of POST /v1/images/edits, apart from the images.

    OpenAI documents no safety_identifier for this form, only the older `user`,
    which it still honours.
    """
    return {
        **_shared_params(options, model),
        **_input_fidelity(options),
        **_end_user(options, "user"),
        "moderation": options.moderation,
    }


class JsonEditBody:
    """The JSON body of an edit, each image a data URL, encoded as it is read.

    Sixteen large images make 90 MB of JSON. Built whole, it would be one more copy
    of every image in memory, and json.dumps or a single write of it would hold the
    event loop for 0.1 to 0.4 s. Instead the connection reads it a piece at a time,
    each piece base64-encoded from the image on demand (a data URL needs no JSON
    escaping). It is a seekable file as far as the openai SDK is concerned, so the
    SDK's retries rewind it and resend the same bytes.
    """

    def __init__(self, options: ImageOptions, model: str, images: list[InputImage]) -> None:
        head = json.dumps(json_edit_params(options, model))[:-1] + ', "images": ['
        self._parts: list[bytes | InputImage] = [head.encode()]
        for index, image in enumerate(images):
            opening = f'{", " * (index > 0)}{{"image_url": "data:{image.mime_type};base64,'
            self._parts += [opening.encode(), image, b'"}']
        self._parts.append(b"]}")
        self._starts = list(itertools.accumulate(map(_part_length, self._parts), initial=0))
        self.length = self._starts[-1]
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        end = self.length if size < 0 else min(self.length, self._position + size)
        pieces = []
        while self._position < end:
            index = bisect.bisect_right(self._starts, self._position) - 1
            offset = self._position - self._starts[index]
            piece = _part_slice(self._parts[index], offset, end - self._position)
            pieces.append(piece)
            self._position += len(piece)
        return b"".join(pieces)

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self.length}[whence]
        self._position = max(0, min(self.length, base + position))
        return self._position

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while piece := self.read(READ_BYTES):
            yield piece


def _part_length(part: bytes | InputImage) -> int:
    return len(part) if isinstance(part, bytes) else 4 * -(-part.size // 3)


def _part_slice(part: bytes | InputImage, offset: int, size: int) -> bytes:
    """Up to `size` bytes of the part from `offset`; of an image, its base64."""
    if isinstance(part, bytes):
        return part[offset : offset + size]
    skip = offset % 4  # base64 comes in groups of 4 characters for 3 bytes
    first, groups = offset // 4 * 3, -(-(skip + size) // 4)
    encoded = base64.b64encode(part.read(first, groups * 3))
    return encoded[skip : skip + size]


def multipart_edit_params(options: ImageOptions, model: str) -> dict[str, Any]:
    """Keyword arguments for `client.images.edit`, apart from the images.

    The multipart form has no `moderation` field; input_fidelity exists only on edits.
    """
    return {
        **_shared_params(options, model),
        **_input_fidelity(options),
        **_end_user(options, "safety_identifier"),
    }


def _input_fidelity(options: ImageOptions) -> dict[str, str]:
    return {} if options.input_fidelity is None else {"input_fidelity": options.input_fidelity}


def _end_user(options: ImageOptions, field: str) -> dict[str, str]:
    """user_id under the form's name for it; an empty identifier identifies no one."""
    return {field: options.user_id} if options.user_id else {}


def _shared_params(options: ImageOptions, model: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": model,
        "prompt": options.prompt,
        "n": options.number_of_images,
        "size": size_for(options.aspect_ratio),
        "quality": options.quality,
        "background": options.background,
        "output_format": options.output_format,
    }
    if options.output_format in COMPRESSIBLE_FORMATS:
        params["output_compression"] = options.output_compression
    return params
