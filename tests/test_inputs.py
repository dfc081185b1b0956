"""Unit tests: input images labelled by their real format for the upload."""

from pathlib import Path

import pytest

from gpt_image.inputs import InputImageError, read_input_images
from tests.conftest import make_image


def test_images_are_sent_unchanged_named_by_content(tmp_path: Path) -> None:
    png, jpeg, webp = make_image("PNG"), make_image("JPEG"), make_image("WEBP")
    # Misleading extensions: the content decides.
    paths = [tmp_path / "a.jpg", tmp_path / "b.png", tmp_path / "c.bin"]
    for path, data in zip(paths, (png, jpeg, webp), strict=True):
        path.write_bytes(data)
    assert read_input_images(paths) == [
        ("image_1.png", png, "image/png"),
        ("image_2.jpeg", jpeg, "image/jpeg"),
        ("image_3.webp", webp, "image/webp"),
    ]


def test_a_file_that_is_not_an_accepted_image_is_named_by_position(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.png", tmp_path / "notes.png"
    good.write_bytes(make_image("PNG"))
    bad.write_bytes(b"just some text")
    with pytest.raises(InputImageError, match="Input image 2 is not a PNG, JPEG or WebP"):
        read_input_images([good, bad])
