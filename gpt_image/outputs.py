"""Write the images of OpenAI's answer to files as they arrive, byte for byte."""

import base64
import binascii
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from gpt_image.blocking import run_blocking, start_blocking
from gpt_image.errors import PredictionError
from gpt_image.formats import sniff_format
from gpt_image.settings import setting

# cog reads a prediction's files as soon as predict returns; after this long they
# are only taking up the disk of a long-running container.
KEEP_SECONDS = 600
# ... and at most this many bytes of them are kept (OUTPUT_RETENTION_MB;
# docs/deployment.md, "Disk for outputs", derives it), but never the files of the last minute.
KEEP_BYTES = 2_000_000_000
MIN_KEEP_SECONDS = 60
PRUNE_INTERVAL = 10
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


def kept_output_bytes() -> int:
    """OUTPUT_RETENTION_MB, in bytes: how much of past predictions' files is kept."""
    megabytes = setting(
        "OUTPUT_RETENTION_MB",
        KEEP_BYTES // 1_000_000,
        int,
        lambda value: value >= 0,
        "a whole number of megabytes, 0 or more, such as 2000",
    )
    return megabytes * 1_000_000


def _images(count: int) -> str:
    return "its image" if count == 1 else f"all {count} images"


class OutputDirs:
    """A fresh directory for each prediction's files, so concurrent predictions never
    share a file name, under one root whose old directories are pruned.

    cog reads a prediction's files as soon as predict returns (and, with
    --upload-url, uploads them within 25 s), so a directory is kept at least
    MIN_KEEP_SECONDS. Beyond that, directories go once older than keep_seconds, and
    the oldest go first while the root holds more than keep_bytes. Pruning lists and
    measures the whole root, so it runs in the package's thread pool, at most every
    PRUNE_INTERVAL seconds and never twice at once.
    """

    def __init__(
        self, root: Path, keep_seconds: float = KEEP_SECONDS, keep_bytes: int = KEEP_BYTES
    ) -> None:
        self.root = root
        self.keep_seconds = keep_seconds
        self.keep_bytes = keep_bytes
        self._pruned_at = time.monotonic()
        self._pruning: Future[object] | None = None
        self._writing: set[Path] = set()  # never pruned

    @contextmanager
    def new(self) -> Iterator[Path]:
        """A new directory, for as long as an answer is being written into it."""
        due = time.monotonic() - self._pruned_at > PRUNE_INTERVAL
        if due and (self._pruning is None or self._pruning.done()):
            self._pruned_at = time.monotonic()
            self._pruning = start_blocking(self.prune)
        directory = Path(tempfile.mkdtemp(dir=self.root))
        self._writing.add(directory)
        try:
            yield directory
        finally:
            self._writing.discard(directory)

    def prune(self) -> None:
        now = time.time()
        kept = 0
        # Newest first: what is kept is the newest, up to keep_bytes.
        for modified, size, directory in sorted(_measured(self.root), reverse=True):
            if directory in self._writing:
                continue
            age = now - modified
            kept += size
            too_much = kept > self.keep_bytes and age > MIN_KEEP_SECONDS
            if age > self.keep_seconds or too_much:
                shutil.rmtree(directory, ignore_errors=True)
                kept -= size


def _measured(root: Path) -> list[tuple[float, int, Path]]:
    """(last change, bytes, path) of every directory under root."""
    found = []
    for directory in root.iterdir():
        try:
            files = [entry.stat() for entry in os.scandir(directory)]
            modified = max([directory.stat().st_mtime, *(file.st_mtime for file in files)])
            found.append((modified, sum(file.st_size for file in files), directory))
        except OSError:
            pass  # removed meanwhile: its prediction failed, or another prune ran
    return found
