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
PRUNE_INTERVAL = 60


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
    paths = []
    for index, image in enumerate(images):
        paths.append(_save_image(image.b64_json, directory, index))
        # Let go of each image's base64 once written: ten 1536x1024 PNGs are 63 MB
        # of it, and a full server runs dozens of predictions at once.
        image.b64_json = None
    return paths


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


class OutputDirs:
    """A fresh directory for each prediction's files, so concurrent predictions never
    share a file name, under one root that is pruned of directories past
    keep_seconds, at most once a minute (pruning lists the whole root)."""

    def __init__(self, root: Path, keep_seconds: float = KEEP_SECONDS) -> None:
        self.root = root
        self.keep_seconds = keep_seconds
        self._pruned_at = time.monotonic()

    def new(self) -> Path:
        if time.monotonic() - self._pruned_at > PRUNE_INTERVAL:
            self._pruned_at = time.monotonic()
            self.prune()
        return Path(tempfile.mkdtemp(dir=self.root))

    def prune(self) -> None:
        cutoff = time.time() - self.keep_seconds
        for old in self.root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old)
            except OSError:
                pass  # another prediction removed it first
