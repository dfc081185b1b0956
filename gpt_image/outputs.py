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


def save_images(
    response: ImagesResponse, directory: Path, expected: int
) -> tuple[list[Path], list[str]]:
    """Write each image as OpenAI sent it to directory/output_<i>.<format>; return the
    files and a note for each image asked for but not returned.

    The bytes are never re-encoded: that would strip the C2PA provenance metadata
    OpenAI embeds. The extension is the image's real format. OpenAI bills every
    image it made, so whatever came readable is returned, even short of `expected`;
    only an answer with none fails, and then no file is left behind.
    """
    images = response.data or []
    if not images:
        raise OutputError("OpenAI answered without any images. Try again.")
    paths: list[Path] = []
    notes: list[str] = []
    try:
        for position, image in enumerate(images, 1):
            data = _decoded(image.b64_json)
            # Let go of each image's base64 once decoded: ten 1536x1024 PNGs are 63 MB
            # of it, and a full server runs dozens of predictions at once.
            image.b64_json = None
            image_format = sniff_format(data)
            if image_format is None:
                notes.append(f"OpenAI returned image {position} in an unreadable form; left out.")
                continue
            paths.append(_write(directory / f"output_{len(paths)}.{image_format}", data))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    if not paths:
        shutil.rmtree(directory, ignore_errors=True)
        raise OutputError(
            f"OpenAI returned {_images(len(images))} in an unreadable form. Try again."
        )
    if len(paths) < expected:
        notes.append(
            f"OpenAI returned {len(paths)} of the {expected} images asked for; "
            f"here {'is that one' if len(paths) == 1 else f'are those {len(paths)}'}."
        )
    return paths, notes


def _decoded(b64_json: str | None) -> bytes:
    try:
        return base64.b64decode(b64_json or "", validate=True)
    except binascii.Error:
        return b""


def _write(path: Path, data: bytes) -> Path:
    """Write whole or not at all: a file appears under its name only once complete."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def _images(count: int) -> str:
    return "its image" if count == 1 else f"all {count} images"


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
