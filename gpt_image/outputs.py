"""Write the images of OpenAI's answer to files as they arrive, byte for byte."""

import binascii
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

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
# Base64 is decoded this many characters at a time, off the event loop: few enough
# hand-overs to the thread pool, and no single step holds the interpreter for long
# (about 1 ms each).
DECODE_CHARS = 1024 * 1024
CONTROL_CHARACTER = re.compile(rb"[\x00-\x1f]")


class OutputError(PredictionError):
    """OpenAI answered, but not with the images it promised."""


class BrokenJson(OutputError):
    """An image's base64 held a control character, which no JSON string may hold:
    the answer is broken, not only the image."""


class ImageFiles:
    """One prediction's images, each written to directory/output_<i>.<format> as its
    base64 arrives, piece by piece: begin(), write() as often as pieces come, end().

    The bytes are never re-encoded: that would strip the C2PA provenance metadata
    OpenAI embeds. The extension is the image's real format. OpenAI bills every
    image it made, so whatever arrives readable is kept, even short of what was
    asked; only an answer with none fails, and then no file is left behind.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths: list[Path] = []
        self.notes: list[str] = []
        self.received = 0  # images whose base64 arrived whole
        self._image: _PartialImage | None = None

    async def begin(self) -> None:
        self._image = _PartialImage(self.directory / f"output_{len(self.paths)}.partial")

    async def write(self, base64_piece: bytes) -> None:
        """Decoded DECODE_CHARS at a time, off the event loop."""
        assert self._image is not None
        image = self._image
        image.pending += base64_piece
        if len(image.pending) >= DECODE_CHARS:
            await run_blocking(image.decode, final=False)

    async def end(self) -> None:
        """The image's base64 is whole: its file appears, or a note says it was unreadable."""
        assert self._image is not None
        path = await run_blocking(self._image.finish)
        self._image = None
        self.received += 1
        if path is None:
            self.notes.append(
                f"OpenAI returned image {self.received} in an unreadable form; left out."
            )
        else:
            self.paths.append(path)

    def finish(self, expected: int) -> tuple[list[Path], list[str]]:
        """The files, and a note for each image asked for but not returned."""
        self._abandon()
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
        self._abandon()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _abandon(self) -> None:
        """An image the answer broke off inside leaves no file."""
        if self._image is not None:
            self._image.remove()
            self._image = None


class _PartialImage:
    """One image while its base64 arrives: written whole or not at all, since a file
    appears under its name only once complete."""

    def __init__(self, partial: Path) -> None:
        self.partial = partial
        self.pending = bytearray()  # base64 not decoded yet
        self.file: BinaryIO | None = None
        self.readable = True

    def decode(self, final: bool) -> None:
        """Decode what is pending into the file, all of it if final, else whole quads."""
        whole = len(self.pending) if final else len(self.pending) // 4 * 4
        piece = self.pending[:whole]
        del self.pending[:whole]
        if not self.readable:
            return
        try:
            data = binascii.a2b_base64(piece, strict_mode=True)
        except binascii.Error:
            if CONTROL_CHARACTER.search(piece):
                raise BrokenJson("OpenAI answered with broken JSON. Try again.") from None
            self.readable = False
            return
        if self.file is None:
            self.file = self.partial.open("wb")
        self.file.write(data)

    def finish(self) -> Path | None:
        """The image's file, or None (and no file) if it is not a readable image."""
        self.decode(final=True)
        if self.file is not None:
            self.file.close()
        image_format = None
        if self.readable and self.file is not None:
            with self.partial.open("rb") as file:
                image_format = sniff_format(file.read(16))
        if image_format is None:
            self.partial.unlink(missing_ok=True)
            return None
        return self.partial.replace(self.partial.with_suffix(f".{image_format}"))

    def remove(self) -> None:
        if self.file is not None:
            self.file.close()
        self.partial.unlink(missing_ok=True)


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
            # Its age counts from now, when cog gets the files, not from their last
            # write: an answer may stall for minutes after its last whole image.
            with contextlib.suppress(FileNotFoundError):  # failed: already removed
                os.utime(directory)
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
