"""Read OpenAI's answer as it arrives: each image's base64 is decoded into its file
as it comes, so a prediction holds about a megabyte of it at a time, never a whole
image nor the whole answer (ten 3840x2160 PNGs can be 330 MB of JSON).

An answer that breaks off before its first whole image is sent again, as the SDK
would retry it if it read the body itself, unless it stopped coming in time: a
timeout is never followed by a second payment. Images that arrived whole are kept.
"""

import asyncio
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx2
import ijson
from openai import AsyncAPIResponse
from openai.types import Image, ImagesResponse

from gpt_image.errors import PredictionError
from gpt_image.images_api import Request
from gpt_image.outputs import BrokenJson, ImageFiles

IMAGE_PREFIX = "data.item"
# Where an image's base64 begins: its key, the colon and the value's opening quote.
IMAGE_VALUE = re.compile(rb'"b64_json"\s*:\s*"')
# Bytes kept back from the parser at the end of a piece, in case they begin
# IMAGE_VALUE; a key spaced out wider than this takes ijson's slower way.
HELD_BYTES = 64
# The openai SDK's own first wait between retries, doubled each time up to its cap
# (openai/_constants.py: INITIAL_RETRY_DELAY, MAX_RETRY_DELAY).
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0

Answer = tuple[ImagesResponse, list[Path], list[str]]
# Sends the request with at most this many retries of its own; yields OpenAI's 200
# answer, unread.
SendRequest = Callable[[int], Request]


class BrokenAnswer(PredictionError):
    """OpenAI's 200 answer was not a whole ImagesResponse."""


class BrokeOffEarly(BrokenAnswer):
    """The answer broke off before any whole image: nothing to keep, worth resending."""

    def __init__(self, what: str, times: int = 1) -> None:
        self.what = what
        again = f", {times} times in a row" if times > 1 else ""
        super().__init__(f"{what} before its first image{again}. Try again.")


async def fetch_answer(
    send: SendRequest,
    new_directory: Callable[[], AbstractContextManager[Path]],
    expected: int,
    max_retries: int,
) -> Answer:
    """Send the request and read its answer into files.

    One retry budget, OPENAI_MAX_RETRIES, covers both the SDK's retries (failed
    connections, 429s, 5xx) and answers that broke off before their first image.
    """
    retries_left, broken, delay = max_retries, 0, FIRST_RETRY_DELAY
    while True:
        async with send(retries_left) as answer:
            retries_left -= answer.retries_taken
            try:
                with new_directory() as directory:
                    return await read_answer(answer, directory, expected)
            except BrokeOffEarly as error:
                broken += 1
                if retries_left <= 0:
                    raise BrokeOffEarly(error.what, broken) from None
                print(
                    f"{error.what} before its first image; sending the request again. "
                    "OpenAI may have billed the broken attempt."
                )
        retries_left -= 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY)


async def read_answer(response: AsyncAPIResponse[Any], directory: Path, expected: int) -> Answer:
    """OpenAI's answer without the images' base64 (for the logs and metrics), the
    image files, and a note for everything that did not come as asked."""
    if "json" not in response.headers.get("content-type", ""):
        raise BrokenAnswer("OpenAI answered with something other than JSON. Try again.")
    files = ImageFiles(directory)
    reader = _AnswerReader(files)
    try:
        # As the network delivers it (at most 64 KiB at a time), so nothing that
        # arrived is held back if the connection breaks. ijson's push interface is
        # fed here, so a cancellation stops at this await and nowhere inside ijson.
        async for chunk in response.iter_bytes():
            await reader.feed(chunk)
        await reader.finish()
    except (ijson.JSONError, BrokenJson, httpx2.TransportError, httpx2.DecodingError) as error:
        return _broken_off(error, files, expected)
    except BaseException:
        files.discard()  # cancelled or failed: no half set is left behind
        raise
    paths, notes = files.finish(expected)
    return _metadata(reader.rest.value, reader.entries), paths, notes


class _AnswerReader:
    """Parses the answer piece by piece: each image's base64 goes to its file, the
    rest of the answer is built for the logs.

    The base64 goes around ijson, which gets an empty string in its place: yajl
    re-reads a string that spans pieces from its start with every piece, so an
    image of 30 MB of base64 cost time quadratic in its size.
    """

    def __init__(self, files: ImageFiles) -> None:
        self.files = files
        self.rest = ijson.ObjectBuilder()  # everything but the images' base64
        self.entries = 0  # images the answer began
        self._events = ijson.sendable_list()
        self._parser = ijson.parse_coro(self._events)
        self._held = b""  # what may be the start of an image's key, not parsed yet
        self._in_image = False  # between an image's opening and closing quotes
        self._went_around = False  # ijson's next string is the placeholder

    async def feed(self, chunk: bytes) -> None:
        while chunk:
            if self._in_image:
                chunk = await self._image_part(chunk)
            else:
                chunk = await self._json_part(chunk)

    async def finish(self) -> None:
        await self._parse(self._held)
        self._parser.close()  # raises if the answer stopped short of a whole document
        await self._take_events()

    async def _image_part(self, chunk: bytes) -> bytes:
        """Base64 up to its closing quote goes to the file; returns the rest, from
        that quote on, which closes ijson's empty string."""
        end = chunk.find(b'"')  # base64 has no quotes and no escapes
        if end < 0:
            await self.files.write(chunk)
            return b""
        await self.files.write(chunk[:end])
        await self.files.end()
        self._in_image, self._went_around = False, True
        return chunk[end:]

    async def _json_part(self, chunk: bytes) -> bytes:
        """Parses up to the next image's opening quote; returns what follows it."""
        text = self._held + chunk
        found = IMAGE_VALUE.search(text)
        if found is None:
            cut = max(0, len(text) - HELD_BYTES)
            self._held = text[cut:]
            await self._parse(text[:cut])
            return b""
        self._held = b""
        # What looks like an image's key is one only if ijson read it as the key of
        # an entry of `data`, not as words inside another string.
        if await self._parse(text[: found.end()]) == (IMAGE_PREFIX, "map_key", "b64_json"):
            self._in_image = True
            await self.files.begin()
        return text[found.end() :]

    async def _parse(self, data: bytes) -> tuple[str, str, Any] | None:
        """Parses data; returns ijson's last event in it, if any."""
        if data:  # ijson takes empty bytes for the end of the document
            self._parser.send(data)
        last = self._events[-1] if self._events else None
        await self._take_events()
        return last

    async def _take_events(self) -> None:
        for prefix, event, value in self._events:
            if prefix == f"{IMAGE_PREFIX}.b64_json" and event == "string":
                if not self._went_around:  # an image whose key IMAGE_VALUE missed
                    await self.files.begin()
                    await self.files.write(value.encode())
                    await self.files.end()
                self._went_around = False
                continue
            if prefix == IMAGE_PREFIX and event == "start_map":
                self.entries += 1
            if not prefix.startswith(IMAGE_PREFIX):
                self.rest.event(event, value)
        self._events.clear()


def _broken_off(error: Exception, files: ImageFiles, expected: int) -> Answer:
    """Images that arrived whole before the answer broke off are kept: OpenAI made them."""
    if isinstance(error, ijson.JSONError | BrokenJson):
        what = "OpenAI answered with broken JSON"
    elif isinstance(error, httpx2.DecodingError):
        what = "OpenAI's answer could not be decompressed"
    elif isinstance(error, httpx2.TimeoutException):
        what = "OpenAI's answer stopped coming for longer than OPENAI_TIMEOUT"
    else:
        what = "OpenAI's answer broke off (the connection was lost or too slow)"
    if not files.paths:
        files.discard()
        if isinstance(error, httpx2.TimeoutException):
            # Not sent again on its own: those images were made and billed, and may
            # yet be slow a second time.
            raise BrokenAnswer(
                f"{what} before its first image; it was not sent again, since OpenAI had "
                "already made and billed the images. Try again."
            ) from None
        # Broken in its first image (or before): nothing arrived that could be kept.
        if files.received == 0:
            raise BrokeOffEarly(what) from None
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
