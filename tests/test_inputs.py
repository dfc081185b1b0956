"""Unit tests: input images checked, labelled and converted before any request."""

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from gpt_image.inputs import (
    CONVERTIBLE_FORMATS,
    MAX_IMAGE_BYTES,
    InputImage,
    InputImageError,
    prepare_input_images,
)
from tests.images import animated_gif, make_image, noise_png, png_claiming


def sent(image: InputImage) -> bytes:
    """The bytes that go to OpenAI for this image."""
    with image.open() as file:
        return file.read()


def prepare(tmp_path: Path, *files: bytes):
    paths = []
    for index, data in enumerate(files):
        path = tmp_path / f"input{index}.png"  # names say nothing: content decides
        path.write_bytes(data)
        paths.append(path)
    return prepare_input_images(paths)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_openai_formats_go_byte_for_byte(tmp_path: Path, fmt: str, name: str) -> None:
    data = make_image(fmt)
    (image,) = prepare(tmp_path, data)
    assert sent(image) == data
    with image.open() as file:
        assert image.upload_file(file) == (f"image_1.{name}", file, f"image/{name}")
    assert image.change is None
    assert image.summary() == f"Input image 1: {fmt} 64x48, {len(data)} bytes, sent as is"


def test_multi_picture_jpeg_goes_as_jpeg(tmp_path: Path) -> None:
    data = make_image("MPO")
    (image,) = prepare(tmp_path, data)
    assert (image.format, sent(image)) == ("jpeg", data)


# Formats the installed Pillow can write, to test the conversion of each.
WRITABLE = [fmt for fmt in CONVERTIBLE_FORMATS if fmt not in ("PSD",)]


@pytest.mark.parametrize("fmt", WRITABLE)
def test_other_formats_are_converted_to_png(tmp_path: Path, fmt: str) -> None:
    source = make_image(fmt, mode="1" if fmt == "XBM" else "RGB")
    (image,) = prepare(tmp_path, source)
    assert image.format == "png"
    assert image.upload_file(io.BytesIO())[0] == "image_1.png"
    assert decoded(sent(image)).format == "PNG"
    assert image.change == "converted to PNG"
    assert image.source_format == fmt


def test_conversion_keeps_transparency(tmp_path: Path) -> None:
    source = make_image("TIFF", mode="RGBA")
    (image,) = prepare(tmp_path, source)
    converted = decoded(sent(image))
    assert converted.mode == "RGBA"
    assert converted.getpixel((0, 0)) == (200, 30, 90, 128)


def test_gif_sends_its_first_frame_with_transparency(tmp_path: Path) -> None:
    (image,) = prepare(tmp_path, animated_gif())
    frame = decoded(sent(image))
    assert frame.mode == "RGBA"
    assert frame.getpixel((5, 5))[3] == 0  # transparent half
    assert frame.getpixel((30, 5)) == (255, 0, 0, 255)  # red, not the blue second frame


def test_image_over_50_mb_is_downscaled_under_it(tmp_path: Path) -> None:
    source = noise_png(3700)
    assert len(source) > MAX_IMAGE_BYTES
    (image,) = prepare(tmp_path, source)
    assert len(sent(image)) < MAX_IMAGE_BYTES
    assert decoded(sent(image)).size == (2048, 2048)
    assert image.change == "re-encoded as a 2048x2048 PNG to get under OpenAI's 50 MB limit"
    assert image.summary().startswith("Input image 1: PNG 3700x3700, 52.")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"", "Input image 2 is an empty file"),
        (b"just some text, not a picture", "Input image 2 is not an image this model can read"),
        (make_image("PNG", (800, 600))[:2000], "Input image 2 could not be decoded"),
        (make_image("JPEG", (800, 600))[:1500], "Input image 2 could not be decoded"),
        (make_image("JPEG", (800, 600))[:200], "Input image 2 could not be decoded"),
        (make_image("WEBP", (800, 600))[:100], "Input image 2 could not be decoded"),
        (
            png_claiming(10_000, 10_000),
            r"Input image 2 \(10000x10000\) has more than 64 megapixels",
        ),
        (png_claiming(50_000, 50_000), "Input image 2 has more than 64 megapixels"),
    ],
)
def test_bad_images_are_refused_naming_their_position(
    tmp_path: Path, bad: bytes, message: str
) -> None:
    with pytest.raises(InputImageError, match=message):
        prepare(tmp_path, make_image("PNG"), bad)


def test_more_than_16_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        InputImageError, match="17 input images were given, but OpenAI accepts at most 16"
    ):
        prepare(tmp_path, *[make_image("PNG")] * 17)
    assert len(prepare(tmp_path, *[make_image("PNG")] * 16)) == 16


def test_data_url_length_is_computed_without_building_it(tmp_path: Path) -> None:
    for size in (1, 2, 3, 100, 101):
        image_bytes = make_image("PNG", (size, size))
        (image,) = prepare(tmp_path, image_bytes)
        data_url = "data:image/png;base64," + base64.b64encode(image_bytes).decode()
        assert image.data_url_length == len(data_url)
