"""Write the images of OpenAI's answer to files as they arrive, byte for byte."""

import base64
import binascii
import shutil
import tempfile
import time
from pathlib import Path

from gpt_image.blocking import run_blocking
from gpt_image.errors import PredictionError
from gpt_image.formats import sniff_format

# cog reads a prediction's files as soon as predict returns; after this long they
# are only taking up the disk of a long-running container.
KEEP_SECONDS = 600
PRUNE_INTERVAL = 60
# Base64 is decoded this many characters at a time (a multiple of 4), so no single
# step holds the interpreter for long: about 4 ms each.
DECODE_CHARS = 1024 * 1024


class OutputError(PredictionError):
    """OpenAI answered, but not with the images it promised."""


class ImageFiles:
    """One prediction's images, each written to directory/output_<i>.<format> as it
    arrives.

    The bytes are never re-encoded: that would strip the C2PA provenance metadata
    OpenAI embeds. The extension is the image's real format. OpenAI bills every
    image it made, so whatever arrives readable is kept, even short of what was
    asked; only an answer with none fails, and then no file is left behind.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths: list[Path] = []
        self.notes: list[str] = []
        self.received = 0

    async def add(self, b64_json: str) -> None:
        """Decode and write one image off the event loop; an unreadable one is noted."""
        self.received += 1
        path = await run_blocking(self._write, b64_json)
        if path is None:
            self.notes.append(
                f"OpenAI returned image {self.received} in an unreadable form; left out."
            )
        else:
            self.paths.append(path)

    def finish(self, expected: int) -> tuple[list[Path], list[str]]:
        """The files, and a note for each image asked for but not returned."""
        if not self.paths:
            self.discard()
            if self.received == 0:
                raise OutputError("OpenAI answered without any images. Try again.")
            raise OutputError(
                f"OpenAI returned {_images(self.received)} in an unreadable form. Try again."
            )
        if len(self.paths) < expected:
            count = len(self.paths)
            self.notes.append(
                f"OpenAI returned {count} of the {expected} images asked for; "
                f"here {'is that one' if count == 1 else f'are those {count}'}."
            )
        return self.paths, self.notes

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write(self, b64_json: str) -> Path | None:
        """Write whole or not at all: a file appears under its name only once complete."""
        partial = self.directory / f"output_{len(self.paths)}.partial"
        try:
            with partial.open("wb") as file:
                for start in range(0, len(b64_json), DECODE_CHARS):
                    piece = b64_json[start : start + DECODE_CHARS]
                    file.write(base64.b64decode(piece, validate=True))
        except binascii.Error:
            partial.unlink()
            return None
        with partial.open("rb") as file:
            image_format = sniff_format(file.read(16))
        if image_format is None:
            partial.unlink()
            return None
        return partial.replace(partial.with_suffix(f".{image_format}"))


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
