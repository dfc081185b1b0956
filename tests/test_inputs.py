"""Unit tests: input images checked, labelled and converted before any request."""

import asyncio
import base64
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from gpt_image.inputs import (
    CONVERTIBLE_FORMATS,
    DECODES_AT_ONCE,
    MAX_IMAGE_BYTES,
    InputImage,
    InputImageError,
    prepare_input_images,
    prepared_input_images,
)
from tests.images import (
    animated_gif,
    associated_alpha_tiff,
    grey_ramp_16_bit,
    make_image,
    noise_gif,
    noise_png,
    png_claiming,
)
from tools.cog_schema import PROJECT_DIR


def sent(image: InputImage) -> bytes:
    """The bytes that go to OpenAI for this image."""
    with image.open() as file:
        return file.read()


def inputs(tmp_path: Path, *files: bytes) -> list[Path]:
    paths = []
    for index, data in enumerate(files):
        path = tmp_path / f"input{index}.png"  # names say nothing: content decides
        path.write_bytes(data)
        paths.append(path)
    return paths


def prepare(tmp_path: Path, *files: bytes) -> list[InputImage]:
    return prepare_input_images(inputs(tmp_path, *files), spool=tmp_path)


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
    # Sizes in the decimal units of OpenAI's limit: 54.8 MB is 52.2 MiB.
    assert image.summary().startswith("Input image 1: PNG 3700x3700, 54.8 MB, re-encoded")


@pytest.mark.parametrize(
    ("size", "label"),
    [(999, "999 bytes"), (1_000, "1.0 kB"), (52_345, "52.3 kB"), (26_398_909, "26.4 MB")],
)
def test_sizes_are_logged_in_decimal_units(tmp_path: Path, size: int, label: str) -> None:
    path = tmp_path / "padded.png"
    path.write_bytes(make_image("PNG").ljust(size, b"\0"))  # PNG ignores what follows IEND
    (image,) = prepare_input_images([path], spool=tmp_path)
    assert image.summary() == f"Input image 1: PNG 64x48, {label}, sent as is"


def mean_brightness(data: bytes) -> float:
    return ImageStat.Stat(decoded(data).convert("L")).mean[0]


@pytest.mark.parametrize("fmt", ["TIFF", "PPM"])
def test_16_bit_grey_keeps_its_brightness(tmp_path: Path, fmt: str) -> None:
    (image,) = prepare(tmp_path, grey_ramp_16_bit(fmt))
    assert image.change == "converted to PNG"
    assert mean_brightness(sent(image)) == pytest.approx(127.5, abs=0.5)  # not clipped white


# Modes that real files decode to, each with a colour as stored and the pixel it
# must become: high bit depths scaled, not clipped; transparency kept.
MODES = {
    "16-bit grey": ("I;16", 32896, (128, 128, 128)),
    "16-bit grey, big-endian": ("I;16B", 32896, (128, 128, 128)),
    "32-bit integer grey in 16-bit range": ("I", 32896, (128, 128, 128)),
    "float grey from 0 to 1": ("F", 0.5, (128, 128, 128)),
    "bilevel": ("1", 1, (255, 255, 255)),
    "CMYK": ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    "CIELAB": ("LAB", (128, 128, 128), (119, 119, 119)),
    "YCbCr": ("YCbCr", (255, 128, 128), (255, 255, 255)),
    "grey with alpha": ("LA", (100, 50), (100, 100, 100, 50)),
    "palette with alpha": ("PA", (0, 50), (0, 0, 0, 50)),
}


@pytest.mark.parametrize("case", list(MODES))
def test_every_mode_converts_without_clipping_or_losing_alpha(tmp_path: Path, case: str) -> None:
    mode, colour, expected = MODES[case]
    (image,) = prepare(tmp_path, make_image("TIFF", mode=mode, colour=colour))
    converted = decoded(sent(image))
    assert converted.mode == ("RGBA" if len(expected) == 4 else "RGB")
    assert converted.getpixel((0, 0)) == expected


def test_premultiplied_grey_alpha_converts(tmp_path: Path) -> None:
    source = associated_alpha_tiff(Image.new("LA", (8, 8), (50, 128)))
    assert Image.open(io.BytesIO(source)).mode == "La"
    (image,) = prepare(tmp_path, source)
    assert decoded(sent(image)).getpixel((0, 0)) == (99, 99, 99, 128)  # 50 / (128/255)


@pytest.mark.parametrize(
    ("mode", "values"),
    [("I", (-1000, 34_500, 70_000)), ("F", (-2.0, 0.0, 2.0)), ("F", (0.0, 500.0, 1000.0))],
)
def test_grey_beyond_16_bits_or_0_to_1_is_stretched(
    tmp_path: Path, mode: str, values: tuple[float, float, float]
) -> None:
    source = Image.new(mode, (3, 1))
    for x, value in enumerate(values):
        source.putpixel((x, 0), value)
    buffer = io.BytesIO()
    source.save(buffer, "TIFF")
    (image,) = prepare(tmp_path, buffer.getvalue())
    row = decoded(sent(image)).convert("L")
    assert [row.getpixel((x, 0)) for x in range(3)] == [0, 128, 255]


def spools() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("gpt-image-inputs-*"))


def test_converted_images_are_spooled_and_removed_with_the_block(tmp_path: Path) -> None:
    paths = inputs(tmp_path, make_image("PNG"), make_image("BMP"))

    async def use() -> None:
        async with prepared_input_images(paths) as images:
            assert images[0].path == paths[0]  # sent from the caller's file
            assert images[1].path.parent in spools()
            assert decoded(images[1].path.read_bytes()).format == "PNG"

    asyncio.run(use())
    assert spools() == []


def test_spool_is_removed_when_the_request_fails(tmp_path: Path) -> None:
    paths = inputs(tmp_path, make_image("BMP"))

    async def use() -> None:
        async with prepared_input_images(paths):
            raise RuntimeError("OpenAI said no")

    with pytest.raises(RuntimeError):
        asyncio.run(use())
    assert spools() == []


def test_spool_is_removed_when_a_later_image_is_refused(tmp_path: Path) -> None:
    paths = inputs(tmp_path, make_image("BMP"), b"not an image")

    async def use() -> None:
        async with prepared_input_images(paths):
            raise AssertionError("never reached")

    with pytest.raises(InputImageError, match="Input image 2"):
        asyncio.run(use())
    assert spools() == []


def test_spool_is_removed_when_cancelled_during_a_conversion(tmp_path: Path) -> None:
    paths = inputs(tmp_path, noise_gif(2000, 2000))  # takes a while to convert

    async def use() -> None:
        async with prepared_input_images(paths):
            raise AssertionError("never reached")

    async def cancel_while_converting() -> None:
        task = asyncio.create_task(use())
        while not spools():  # the conversion is handed to its thread right after
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_converting())
    assert spools() == []


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


# Eight predictions at once, each converting a 25-megapixel 16-bit scan; prints how
# far the process's peak memory rose while they ran (MiB).
CONVERSIONS_AT_ONCE = """
import resource, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from gpt_image.inputs import prepare_input_images

scan = Path(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with ThreadPoolExecutor(8) as pool:
    spools = [Path(tempfile.mkdtemp(dir=scan.parent)) for _ in range(8)]
    list(pool.map(lambda spool: prepare_input_images([scan], spool), spools))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_conversions_at_once_are_bounded_whatever_the_load(tmp_path: Path) -> None:
    """Each conversion of a deep scan takes hundreds of MiB: only DECODES_AT_ONCE run
    together (about 0.6 GiB here), not all eight (about 1.45 GiB)."""
    side = 5000
    row = b"".join(round(x * 65535 / (side - 1)).to_bytes(2, "little") for x in range(side))
    scan = tmp_path / "scan.tiff"
    Image.frombytes("I;16", (side, side), row * side).save(scan)
    result = subprocess.run(
        [sys.executable, "-c", CONVERSIONS_AT_ONCE, str(scan)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert DECODES_AT_ONCE == 2
    assert int(result.stdout) < 1000, result.stdout
