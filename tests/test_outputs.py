"""Unit tests: OpenAI's images written to files, byte for byte."""

import base64
import os
import time
from pathlib import Path

import pytest
from openai.types import ImagesResponse

from gpt_image.formats import sniff_format
from gpt_image.outputs import OutputDirs, OutputError, save_images
from tests.images import make_image


def response(*images: bytes | str, output_format: str = "webp") -> ImagesResponse:
    data = [
        {"b64_json": image if isinstance(image, str) else base64.b64encode(image).decode()}
        for image in images
    ]
    return ImagesResponse.model_validate(
        {"created": 0, "data": data, "output_format": output_format}
    )


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """One prediction's output directory, as OutputDirs makes it."""
    return OutputDirs(tmp_path).new()


def test_images_are_written_unchanged_in_order(directory: Path) -> None:
    images = [make_image("WEBP", (10 + i, 10)) for i in range(3)]
    paths, notes = save_images(response(*images), directory, 3)
    assert [p.name for p in paths] == ["output_0.webp", "output_1.webp", "output_2.webp"]
    assert [p.read_bytes() for p in paths] == images
    assert notes == []
    assert sorted(directory.iterdir()) == paths  # no partial files left


def test_extension_is_the_real_format_not_the_announced_one(directory: Path) -> None:
    png, jpeg = make_image("PNG"), make_image("JPEG")
    paths, _ = save_images(response(png, jpeg, output_format="webp"), directory, 2)
    assert [p.name for p in paths] == ["output_0.png", "output_1.jpeg"]


def test_no_images_is_an_error(directory: Path) -> None:
    with pytest.raises(OutputError, match="without any images"):
        save_images(response(), directory, 1)


def test_fewer_images_than_asked_are_returned_with_a_note(directory: Path) -> None:
    images = [make_image("PNG", (10 + i, 10)) for i in range(2)]
    paths, notes = save_images(response(*images), directory, 3)
    assert [p.read_bytes() for p in paths] == images
    assert notes == ["OpenAI returned 2 of the 3 images asked for; here are those 2."]


def test_unreadable_images_are_left_out(directory: Path) -> None:
    good = make_image("PNG")
    paths, notes = save_images(response("not base64!", good), directory, 2)
    assert [(p.name, p.read_bytes()) for p in paths] == [("output_0.png", good)]
    assert notes == [
        "OpenAI returned image 1 in an unreadable form; left out.",
        "OpenAI returned 1 of the 2 images asked for; here is that one.",
    ]


@pytest.mark.parametrize("b64", ["not base64!", base64.b64encode(b"plain text").decode()])
def test_nothing_readable_is_an_error_and_leaves_nothing(directory: Path, b64: str) -> None:
    with pytest.raises(OutputError, match="OpenAI returned its image in an unreadable form"):
        save_images(response(b64), directory, 1)
    assert not directory.exists()


def test_a_failed_write_leaves_no_half_set(directory: Path) -> None:
    (directory / "output_1.png.partial").mkdir()  # the second write cannot happen
    with pytest.raises(OSError):
        save_images(response(make_image("PNG"), make_image("PNG")), directory, 2)
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
