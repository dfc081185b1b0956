"""Unit tests: OpenAI's images written to files, byte for byte."""

import asyncio
import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpt_image.formats import sniff_format
from gpt_image.outputs import (
    DECODE_CHARS,
    KEEP_BYTES,
    MIN_KEEP_SECONDS,
    PRUNE_INTERVAL,
    ImageFiles,
    OutputDirs,
    OutputError,
    kept_output_bytes,
)
from gpt_image.settings import SettingError
from tests.images import make_image, noise_png


def b64(image: bytes) -> str:
    return base64.b64encode(image).decode()


# What the network hands over at a time, at most.
PIECE = 64 * 1024


def saved(directory: Path, expected: int, *images: str) -> tuple[list[Path], list[str]]:
    """Feed base64 images to ImageFiles as an answer delivers them; return finish()."""

    async def feed() -> tuple[list[Path], list[str]]:
        files = ImageFiles(directory)
        for image in images:
            await files.begin()
            for start in range(0, len(image), PIECE):
                await files.write(image[start : start + PIECE].encode())
            await files.end()
        return files.finish(expected)

    return asyncio.run(feed())


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    """One prediction's output directory, as OutputDirs makes it."""
    with OutputDirs(tmp_path).new() as directory:
        yield directory


def test_images_are_written_unchanged_in_order(directory: Path) -> None:
    images = [make_image("WEBP", (10 + i, 10)) for i in range(3)]
    paths, notes = saved(directory, 3, *map(b64, images))
    assert [p.name for p in paths] == ["output_0.webp", "output_1.webp", "output_2.webp"]
    assert [p.read_bytes() for p in paths] == images
    assert notes == []
    assert sorted(directory.iterdir()) == paths  # no partial files left


def test_large_images_are_decoded_piece_by_piece(directory: Path) -> None:
    image = noise_png(700)  # base64 longer than several decoding pieces
    assert len(b64(image)) > 2 * DECODE_CHARS
    (path,), _ = saved(directory, 1, b64(image))
    assert path.read_bytes() == image


def test_extension_is_the_real_format_not_the_announced_one(directory: Path) -> None:
    paths, _ = saved(directory, 2, b64(make_image("PNG")), b64(make_image("JPEG")))
    assert [p.name for p in paths] == ["output_0.png", "output_1.jpeg"]


def test_no_images_is_an_error(directory: Path) -> None:
    with pytest.raises(OutputError, match="without any images"):
        saved(directory, 1)
    assert not directory.exists()


def test_fewer_images_than_asked_are_returned_with_a_note(directory: Path) -> None:
    images = [make_image("PNG", (10 + i, 10)) for i in range(2)]
    paths, notes = saved(directory, 3, *map(b64, images))
    assert [p.read_bytes() for p in paths] == images
    assert notes == ["OpenAI returned 2 of the 3 images asked for; here are those 2."]


def test_unreadable_images_are_left_out(directory: Path) -> None:
    good = make_image("PNG")
    paths, notes = saved(directory, 2, "not base64!", b64(good))
    assert [(p.name, p.read_bytes()) for p in paths] == [("output_0.png", good)]
    assert notes == [
        "OpenAI returned image 1 in an unreadable form; left out.",
        "OpenAI returned 1 of the 2 images asked for; here is that one.",
    ]
    assert sorted(directory.iterdir()) == paths


@pytest.mark.parametrize("bad", ["not base64!", b64(b"plain text")])
def test_nothing_readable_is_an_error_and_leaves_nothing(directory: Path, bad: str) -> None:
    with pytest.raises(OutputError, match="OpenAI returned its image in an unreadable form"):
        saved(directory, 1, bad)
    assert not directory.exists()


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_formats_are_recognised_by_content(fmt: str, name: str) -> None:
    assert sniff_format(make_image(fmt)) == name


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_not_taken_for_openai_ones(fmt: str) -> None:
    assert sniff_format(make_image(fmt)) is None
    assert sniff_format(b"") is None


def aged(directory: Path, seconds: float, size: int = 1) -> Path:
    """Give the directory a file of `size` bytes, both last changed `seconds` ago."""
    (directory / "output_0.png").write_bytes(b"x" * size)
    then = time.time() - seconds
    for path in (directory / "output_0.png", directory):
        os.utime(path, (then, then))
    return directory


def made(dirs: OutputDirs) -> Path:
    """A directory whose prediction is over: its answer has been written."""
    with dirs.new() as directory:
        return directory


def test_each_prediction_gets_a_new_directory_and_old_ones_go(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=600)
    old, recent = made(dirs), made(dirs)
    assert old != recent
    aged(old, 3600)
    dirs.prune()
    assert not old.exists()
    assert recent.is_dir()


def test_oldest_go_first_while_over_the_byte_budget(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=600, keep_bytes=2500)
    oldest, older, old = (aged(made(dirs), age, 1000) for age in (300, 200, 100))
    dirs.prune()
    assert (oldest.exists(), older.exists(), old.exists()) == (False, True, True)


def test_the_last_minutes_files_are_kept_whatever_their_size(tmp_path: Path) -> None:
    """cog may still be reading or uploading them."""
    dirs = OutputDirs(tmp_path, keep_seconds=600, keep_bytes=0)
    recent, old = aged(made(dirs), MIN_KEEP_SECONDS - 30, 1000), aged(made(dirs), 120, 1000)
    dirs.prune()
    assert (recent.exists(), old.exists()) == (True, False)


def test_a_directory_being_written_is_never_pruned(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=0, keep_bytes=0)
    with dirs.new() as writing:
        aged(writing, 3600, 1000)
        dirs.prune()
        assert writing.exists()
    dirs.prune()
    assert not writing.exists()


def test_the_last_minute_counts_from_the_hand_over_not_the_last_write(tmp_path: Path) -> None:
    """An answer that stalled after its last whole image: cog reads its files only now."""
    dirs = OutputDirs(tmp_path, keep_seconds=600, keep_bytes=0)
    with dirs.new() as directory:
        aged(directory, 120, 1000)
    dirs.prune()
    assert directory.exists()


def test_pruning_runs_in_the_pool_at_most_every_interval(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=0)
    first = aged(made(dirs), 3600)
    made(dirs)
    assert first.exists() and dirs._pruning is None  # not due yet
    dirs._pruned_at -= PRUNE_INTERVAL + 1
    made(dirs)
    assert dirs._pruning is not None
    dirs._pruning.result(timeout=60)
    assert not first.exists()


def test_retention_is_a_setting_in_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kept_output_bytes() == KEEP_BYTES
    monkeypatch.setenv("OUTPUT_RETENTION_MB", "500")
    assert kept_output_bytes() == 500_000_000
    monkeypatch.setenv("OUTPUT_RETENTION_MB", "lots")
    with pytest.raises(SettingError, match="OUTPUT_RETENTION_MB must be a whole number"):
        kept_output_bytes()
