"""Unit tests: OpenAI's answer read piece by piece, however the network splits it,
with each image's base64 going around the JSON parser only where it really is one."""

import asyncio
import base64
import json
from pathlib import Path

import pytest

from gpt_image.answer import HELD_BYTES, _AnswerReader
from gpt_image.outputs import ImageFiles
from tests.images import make_image

IMAGES = [make_image("PNG", (20 + i, 10)) for i in range(2)]
# An image's key quoted in a string, and the same key outside `data`: no images.
REVISED_PROMPT = 'draw "b64_json": "AAAA" on a sign'
ELSEWHERE = {"b64_json": "AAAA"}


def answer(spacing: str = " ") -> bytes:
    data = [
        {"revised_prompt": REVISED_PROMPT, "b64_json": base64.b64encode(image).decode()}
        for image in IMAGES
    ]
    text = json.dumps({"created": 1, "elsewhere": ELSEWHERE, "data": data, "size": "1024x1024"})
    return text.replace('"b64_json": ', f'"b64_json":{spacing}').encode()


def read(directory: Path, body: bytes, cuts: list[int]) -> tuple[list[bytes], object]:
    """The images written and the rest of the answer, the body split at cuts."""

    async def run() -> tuple[list[bytes], object]:
        files = ImageFiles(directory)
        reader = _AnswerReader(files)
        for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
            await reader.feed(body[start:end])
        await reader.finish()
        paths, _ = files.finish(len(IMAGES))
        return [path.read_bytes() for path in paths], reader.rest.value

    return asyncio.run(run())


def test_every_split_around_an_images_key_reads_the_same(tmp_path: Path) -> None:
    body = answer()
    for cut in [*around(body, b'"b64_json": "A'), *around(body, b'"b64_json": "i')]:
        directory = tmp_path / str(cut)
        directory.mkdir()
        images, rest = read(directory, body, [cut])
        assert images == IMAGES, cut
        assert rest == {"created": 1, "elsewhere": ELSEWHERE, "data": [], "size": "1024x1024"}


def around(body: bytes, text: bytes) -> range:
    """Every split from just before the first `text` in body to just after it."""
    start = body.index(text)
    return range(start - 2, start + len(text) + 2)


def test_an_image_split_into_single_bytes_reads_the_same(tmp_path: Path) -> None:
    body = answer()
    images, _ = read(tmp_path, body, list(range(1, len(body))))
    assert images == IMAGES


@pytest.mark.parametrize("spacing", ["", " " * (HELD_BYTES + 10)])
def test_a_key_spaced_out_wide_is_still_an_image(tmp_path: Path, spacing: str) -> None:
    """Wider than the bytes held back: the JSON parser hands the base64 over whole."""
    body = answer(spacing)
    images, _ = read(tmp_path, body, list(range(0, len(body), 7))[1:])
    assert images == IMAGES
