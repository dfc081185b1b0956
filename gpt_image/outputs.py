"""Write the images in an OpenAI Images API response to files."""

import base64
import binascii
import shutil
import tempfile
import time
from pathlib import Path

from openai.types import ImagesResponse

from gpt_image.errors import PredictionError
from gpt_image.formats import sniff_format

# cog reads a prediction's files as soon as predict returns; after this long they
# are only taking up the disk of a long-running container.
KEEP_SECONDS = 600


class OutputError(PredictionError):
    """OpenAI answered, but not with the images it promised."""


def save_images(response: ImagesResponse, directory: Path, expected: int) -> list[Path]:
    """Write each image as OpenAI sent it to directory/output_<i>.<format>.

    The bytes are never re-encoded: that would strip the C2PA provenance
    metadata OpenAI embeds. The extension is the image's real format.
    """
    images = response.data or []
    if not images:
        raise OutputError("OpenAI answered without any images. Try again.")
    if len(images) < expected:
        raise OutputError(
            f"OpenAI returned {len(images)} of the {expected} images asked for. Try again."
        )
    return [_save_image(image.b64_json, directory, index) for index, image in enumerate(images)]


def _save_image(b64_json: str | None, directory: Path, index: int) -> Path:
    try:
        data = base64.b64decode(b64_json or "", validate=True)
    except binascii.Error:
        data = b""
    image_format = sniff_format(data)
    if image_format is None:
        raise OutputError(f"OpenAI returned image {index + 1} in an unreadable form. Try again.")
    path = directory / f"output_{index}.{image_format}"
    path.write_bytes(data)
    return path


def new_output_dir(root: Path, keep_seconds: float = KEEP_SECONDS) -> Path:
    """A fresh directory for one prediction's files, so concurrent predictions
    never share a file name; directories older than keep_seconds are removed."""
    cutoff = time.time() - keep_seconds
    for old in root.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old)
        except OSError:
            pass  # another prediction removed it first
    return Path(tempfile.mkdtemp(dir=root))
