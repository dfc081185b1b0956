"""Unit tests: OpenAI's images written to files, byte for byte."""

import asyncio
import base64
import os
import time
from pathlib import Path

import pytest

from gpt_image.formats import sniff_format
from gpt_image.outputs import DECODE_CHARS, ImageFiles, OutputDirs, OutputError
from tests.images import make_image, noise_png


def b64(image: bytes) -> str:
    return base64.b64encode(image).decode()


def saved(directory: Path, expected: int, *images: str) -> tuple[list[Path], list[str]]:
    """Feed base64 images to ImageFiles as an answer delivers them; return finish()."""

    async def feed() -> tuple[list[Path], list[str]]:
        files = ImageFiles(directory)
        for image in images:
            await files.add(image)
        return files.finish(expected)

    return asyncio.run(feed())


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """One prediction's output directory, as OutputDirs makes it."""
    return OutputDirs(tmp_path).new()


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


def test_each_prediction_gets_a_new_directory_and_old_ones_go(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=600)
    old, recent = dirs.new(), dirs.new()
    assert old != recent
    (old / "output_0.png").write_bytes(b"x")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    dirs.prune()
    assert not old.exists()
    assert recent.is_dir()


def test_pruning_waits_a_minute_between_runs(tmp_path: Path) -> None:
    dirs = OutputDirs(tmp_path, keep_seconds=0)
    first = dirs.new()
    dirs.new()
    assert first.exists()  # pruned at most once a minute: not yet
    dirs._pruned_at -= 61
    dirs.new()
    assert not first.exists()
